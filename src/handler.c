/*
 * handler.c
 *		Module load: kernel dispatch and configuration.
 */
#include "postgres.h"

#include "fmgr.h"

#include "core/distance.h"

PG_MODULE_MAGIC;

void		_PG_init(void);

void
_PG_init(void)
{
	n2_distance_init();
}
