/* tel: helpers for the telemetry wire structs. */
#include "tel.h"

#include <string.h>

void tel_copy(char *dst, size_t size, const char *src)
{
    size_t n = src ? strnlen(src, size - 1) : 0;
    if (n)
        memcpy(dst, src, n);
    dst[n] = '\0';
}
