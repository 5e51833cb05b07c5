/*
 * api_version: the Stripe API version verifyd answers in when a request or an endpoint names
 * none (CONTRACT.md §1 "Versioning").
 */
#ifndef VERIFYD_API_VERSION_H
#define VERIFYD_API_VERSION_H

#define API_VERSION_DEFAULT "2026-07-29.dahlia"

#endif
