/*
 * Copyright (c) 2025-2026, the n2 developers
 * distmemo.h
 *		Exact distances remembered while a lossy n2 scan runs (distmemo.c).
 */
#ifndef N2_DISTMEMO_H
#define N2_DISTMEMO_H

#include "fmgr.h"

/* a lossy scan starts remembering; the memo is dropped once none does */
extern void n2_distance_memo_acquire(void);
extern void n2_distance_memo_release(void);

/* in a distance function: the remembered result, or remember one */
extern bool n2_distance_memo_get(FunctionCallInfo fcinfo, double *dist);
extern void n2_distance_memo_put(FunctionCallInfo fcinfo, double dist);

/* in a distance function: its query argument, detoasted once per scan */
extern struct varlena *n2_distance_memo_query(FunctionCallInfo fcinfo,
											  int argno);

#endif
