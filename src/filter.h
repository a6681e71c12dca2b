/*
 * Copyright (c) 2025-2026, the n2 developers
 * filter.h
 *		Filter columns: the keys an element tuple stores for the columns
 *		after the vector, and the scan keys evaluated on them (filter.c).
 */
#ifndef N2_FILTER_H
#define N2_FILTER_H

#include "access/skey.h"
#include "utils/relcache.h"

/* Bytes of filter keys one element may hold (a row beyond it is refused). */
#define N2_MAX_KEYLEN		1024

/* Scan-key strategies of the filter operator classes (src/sql/25_filter.sql) */
#define N2_STRATEGY_LT		1
#define N2_STRATEGY_LE		2
#define N2_STRATEGY_EQ		3
#define N2_STRATEGY_GE		4
#define N2_STRATEGY_GT		5
#define N2_STRATEGY_NE		6
#define N2_STRATEGY_OVERLAP	7
#define N2_STRATEGY_CONTAINS 8
#define N2_FILTER_STRATEGIES 8

typedef struct N2KeyFilter N2KeyFilter;

extern void n2_check_columns(Relation index);
extern char *n2_form_keys(Relation index, Datum *values, bool *isnull,
						  int *keylen);
extern const char *n2_keys_problem(Relation index, const char *keys, int keylen);
extern N2KeyFilter *n2_filter_prepare(Relation index, ScanKey keys, int nkeys,
									  bool *never);
extern bool n2_filter_match(const N2KeyFilter *f, const char *keys, int keylen);

/* filterplan.c */
extern void n2_install_filter_hooks(void);

#endif							/* N2_FILTER_H */
