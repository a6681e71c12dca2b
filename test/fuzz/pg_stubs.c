/*
 * Copyright (c) 2025-2026, the n2 developers
 * pg_stubs.c
 *		Just enough of the PostgreSQL backend for src/vector.c's text and
 *		binary input/output to run outside a server, under libFuzzer.
 *
 * Memory: palloc and friends are malloc'd and tracked; fuzz_reset() frees
 * everything allocated since the last reset, as a memory context would.
 * Errors: ereport(ERROR) ends in errfinish(), which longjmps back to the
 * harness (fuzz_jmp); lower levels are ignored.  Functions vector.c uses
 * outside the fuzzed paths abort(): reaching one is a harness bug.
 */
#include "postgres.h"

#include <setjmp.h>

#include "fmgr.h"
#include "lib/stringinfo.h"
#include "libpq/pqformat.h"
#include "mb/pg_wchar.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"

#include "fuzz.h"

sigjmp_buf	fuzz_jmp;
int			fuzz_errors;

static void **allocs;
static size_t nallocs,
			capallocs;

static void *
track(void *p)
{
	if (p == NULL)
		abort();
	if (nallocs == capallocs)
	{
		capallocs = capallocs ? capallocs * 2 : 64;
		allocs = realloc(allocs, capallocs * sizeof(void *));
		if (allocs == NULL)
			abort();
	}
	allocs[nallocs++] = p;
	return p;
}

static void
untrack(void *p)
{
	for (size_t i = nallocs; i-- > 0;)
		if (allocs[i] == p)
		{
			allocs[i] = allocs[--nallocs];
			return;
		}
	abort();					/* pfree of something never palloc'd */
}

void
fuzz_reset(void)
{
	for (size_t i = 0; i < nallocs; i++)
		free(allocs[i]);
	nallocs = 0;
}

void *
palloc(Size size)
{
	if (!AllocSizeIsValid(size))
		abort();				/* the backend would elog(ERROR): a bug in
								 * vector.c */
	return track(malloc(size ? size : 1));
}

void *
palloc0(Size size)
{
	void	   *p = palloc(size);

	memset(p, 0, size);
	return p;
}

void *
repalloc(void *ptr, Size size)
{
	void	   *p;

	if (!AllocSizeIsValid(size))
		abort();
	untrack(ptr);
	p = realloc(ptr, size ? size : 1);
	return track(p);
}

void
pfree(void *ptr)
{
	untrack(ptr);
	free(ptr);
}

char *
pstrdup(const char *in)
{
	return track(strdup(in));
}

char *
pnstrdup(const char *in, Size len)
{
	return track(strndup(in, len));
}

char *
psprintf(const char *fmt,...)
{
	va_list		ap;
	char	   *s;

	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		abort();
	va_end(ap);
	return track(s);
}

/* --- error reporting */
static int	cur_elevel;

bool
errstart(int elevel, const char *domain)
{
	cur_elevel = elevel;
	return elevel >= ERROR;
}

bool
errstart_cold(int elevel, const char *domain)
{
	return errstart(elevel, domain);
}

void
errfinish(const char *filename, int lineno, const char *funcname)
{
	if (cur_elevel >= ERROR)
	{
		fuzz_errors++;
		siglongjmp(fuzz_jmp, 1);
	}
}

int
errcode(int sqlerrcode)
{
	return 0;
}
int
errmsg(const char *fmt,...)
{
	return 0;
}
int
errdetail(const char *fmt,...)
{
	return 0;
}
int
errdetail_plural(const char *s, const char *p, unsigned long n,...)
{
	return 0;
}

int
pg_mbstrlen_with_len(const char *mbstr, int len)
{
	return len;					/* SQL_ASCII-like: one byte, one character */
}

/* --- pqformat, as in src/backend/libpq/pqformat.c */
unsigned int
pq_getmsgint(StringInfo msg, int b)
{
	unsigned char buf[4];
	unsigned int result = 0;

	if (b != 1 && b != 2 && b != 4)
		abort();
	if (msg->cursor < 0 || b > msg->len - msg->cursor)
		ereport(ERROR,
				(errcode(ERRCODE_PROTOCOL_VIOLATION),
				 errmsg("insufficient data left in message")));
	memcpy(buf, msg->data + msg->cursor, b);
	msg->cursor += b;
	for (int i = 0; i < b; i++)
		result = (result << 8) | buf[i];
	return result;
}

float4
pq_getmsgfloat4(StringInfo msg)
{
	union
	{
		float4		f;
		uint32		i;
	}			swap;

	swap.i = pq_getmsgint(msg, 4);
	return swap.f;
}

void
enlargeStringInfo(StringInfo str, int needed)
{
	if (needed < 0 || (Size) needed >= MaxAllocSize - (Size) str->len)
		abort();
	needed += str->len + 1;
	if (needed <= str->maxlen)
		return;
	str->data = repalloc(str->data, needed);
	str->maxlen = needed;
}

void
pq_begintypsend(StringInfo buf)
{
	buf->data = palloc(1024);
	buf->maxlen = 1024;
	buf->len = VARHDRSZ;
	buf->cursor = 0;
	buf->data[VARHDRSZ] = '\0';
}

bytea *
pq_endtypsend(StringInfo buf)
{
	bytea	   *result = (bytea *) buf->data;

	SET_VARSIZE(result, buf->len);
	return result;
}

void
pq_sendfloat4(StringInfo buf, float4 f)
{
	union
	{
		float4		f;
		uint32		i;
	}			swap;

	swap.f = f;
	pq_sendint32(buf, swap.i);
}

struct varlena *
pg_detoast_datum(struct varlena *datum)
{
	if (VARATT_IS_EXTENDED(datum))
		abort();				/* the harness only passes plain 4-byte-header
								 * values */
	return datum;
}

/* Functions vector.c references off the fuzzed paths: unused_stubs.c. */
