#ifndef SHOAL_CMOSQUITTO_SHIM_H
#define SHOAL_CMOSQUITTO_SHIM_H
#include <mosquitto.h>
#include <mqtt_protocol.h>

/// LIBMOSQUITTO_VERSION_NUMBER is a computed macro that Swift cannot import.
static inline int shoal_mosquitto_header_version(void) { return LIBMOSQUITTO_VERSION_NUMBER; }
#endif
