/*
 * pause.c
 *		Test-only pause points: an isolation spec can stop a backend at a
 *		chosen place inside an index operation and let it go on later, so
 *		that concurrent operations overlap exactly where a race could hide.
 *
 * n2_pause_point(name) costs one string comparison and does nothing unless
 * the superuser-only setting n2.pause_at equals name.  Then the backend
 * takes the advisory lock n2.pause_key (default 28210, that is 0x6E32,
 * "n2") in share mode and releases it at once.  So a session that holds
 * that lock exclusively keeps the backend waiting at the point, where
 * isolationtester sees it blocked, until it unlocks:
 *
 *		s1:	SET n2.pause_at = 'insert-placed';
 *		s3:	SELECT pg_advisory_lock(28210);
 *		s1:	INSERT ...;						-- waits after placing its element
 *		s2:	INSERT ...;						-- runs meanwhile
 *		s3:	SELECT pg_advisory_unlock(28210);	-- s1 goes on
 *
 * The key is that of the bigint advisory lock functions (pg_locks shows a
 * waiter as locktype advisory, objid 28210, objsubid 1); sessions given
 * different keys are held and released independently.  It is a lock wait
 * like any other: interruptible, subject to lock_timeout and the deadlock
 * detector.  The lock is not kept: nothing past the point depends on it.
 *
 * Points:
 *	insert-extended			insert.c: an insert added a page to the index and
 *							released the extension lock; the page is pinned,
 *							not locked, and still new
 *	insert-placed			insert.c: the new element is written with its own
 *							links, no list links to it yet
 *	insert-linked-level0	insert.c: it has its level-0 in-links (from its
 *							neighbours or n2_connect); upper levels not yet
 *	insert-tid-chunk-placed	insert.c: a row joining the element of its
 *							vector wrote a new TID chunk holding its heap
 *							TID, not yet linked into the element's chain
 *	build-graph				build.c: CREATE INDEX has read the rows and
 *							allocated the graph, and has not started its
 *							build threads
 *	scan-meta-read			scan.c: a scan has read the metapage (the entry
 *							point), nothing else yet
 *	vacuum-repair			vacuum.c: VACUUM found elements left without heap
 *							rows and holds the update lock, before repairing
 *	vacuum-flagged			vacuum.c: the doomed elements are flagged deleted,
 *							the entry point not yet moved; no list rebuilt yet
 *	vacuum-rebuilt			vacuum.c: what only doomed elements reached is
 *							linked, the lists that linked to doomed elements
 *							are rebuilt; the entry point not yet moved, the
 *							final reconnection not run
 *	vacuum-entry			vacuum.c: VACUUM holds the update lock again and
 *							has chosen a survivor to replace a doomed entry
 *							point, which the metapage still names
 *
 * An insert pauses holding N2_UPDATE_LOCK in N2_LOCK_INSERT mode
 * (N2_LOCK_INSERT_ENTRY when it raises the top level), and its vector's
 * lock, which another insert of the same vector waits for; VACUUM in
 * N2_LOCK_EXCLUSIVE at vacuum-repair and vacuum-entry, and in N2_LOCK_VACUUM
 * at the other two (src/n2.h says which modes wait for which); CREATE INDEX
 * at build-graph only the locks of any index build.  No buffer is locked at any point
 * (at insert-extended one is pinned).
 */
#include "postgres.h"

#include "miscadmin.h"
#include "storage/lock.h"

#include "n2.h"

void
n2_pause_point(const char *name)
{
	LOCKTAG		tag;
	int64		key = n2_pause_key;

	if (n2_pause_at == NULL || strcmp(n2_pause_at, name) != 0)
		return;
	SET_LOCKTAG_ADVISORY(tag, MyDatabaseId, (uint32) (key >> 32),
						 (uint32) key, 1);
	(void) LockAcquire(&tag, ShareLock, false, false);
	LockRelease(&tag, ShareLock, false);
}
