/* xfer_rc: texts of transfer results; see xfer_rc.h. */
#include "xfer_rc.h"

static const char *const texts[] = {
    [XFER_OK] = "No error",
    [XFER_RESOLVE] = "Couldn't resolve host name",
    [XFER_CONNECT] = "Couldn't connect to server",
    [XFER_TIMEOUT] = "Timeout was reached",
    [XFER_TLS] = "SSL connect error",
    [XFER_SEND] = "Failed sending data to the peer",
    [XFER_RECV] = "Failure when receiving data from the peer",
    [XFER_PARTIAL] = "Transferred a partial file",
    [XFER_NOTHING] = "Server returned nothing (no headers, no data)",
    [XFER_BAD_REPLY] = "Weird server reply",
    [XFER_WRITE] = "Failed writing received data to disk/application",
    [XFER_NOMEM] = "Out of memory",
    [XFER_OTHER] = "Unknown error",
};

const char *xfer_rc_text(enum xfer_rc rc)
{
    if ((unsigned)rc >= sizeof texts / sizeof texts[0] || !texts[rc])
        return "Unknown error";
    return texts[rc];
}
