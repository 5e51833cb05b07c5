/*
 * outcomes: the worker that completes delayed outcomes of the hosted page (outcomes.c).
 */
#ifndef VERIFYD_OUTCOMES_H
#define VERIFYD_OUTCOMES_H

#include "app.h"
#include "background/worker.h"

/* Start the worker (worker.h) that completes delayed outcomes: kick it with worker_kick when
 * an outcome was scheduled, stop it with worker_stop. */
worker *outcomes_start(app *ap);

#endif
