/* The release, as backstopd -V, the admin socket's status and backstopctl
 * report it. */
#ifndef BS_VERSION_H
#define BS_VERSION_H

#define BACKSTOP_VERSION "0.1.0"

#endif
