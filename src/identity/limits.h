/*
 * limits: the sizes and lifetimes Stripe sets on the objects verifyd serves, in one place, for
 * the handlers that check them and the workers that expire them.
 */
#ifndef VERIFYD_LIMITS_H
#define VERIFYD_LIMITS_H

/* Idempotency keys are kept, and may be pruned, after 24 h (CONTRACT.md §1). */
#define IDEM_TTL_S (24 * 3600)

#endif
