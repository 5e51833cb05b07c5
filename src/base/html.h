/*
 * html: text into HTML (the hosted page and the dashboard are the only pages verifyd writes).
 */
#ifndef VERIFYD_HTML_H
#define VERIFYD_HTML_H

#include "base/arena.h"

/* Append s (NULL: nothing) to b with &, <, >, " and ' as character references, so that it is
 * safe as element text and inside a quoted attribute value. */
void html_escape(buf *b, const char *s);

#endif
