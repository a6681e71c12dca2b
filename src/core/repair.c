/*
 * repair.c
 *		Post-build repair of an in-memory graph.  Pure C.
 */
#include "repair.h"

#include <stdlib.h>
#include <string.h>

/* Marks everything reachable from start; returns the new queue tail. */
static uint32_t
mark_from(const N2Graph *g, uint32_t start, uint8_t *seen, uint32_t *queue,
		  uint32_t tail)
{
	uint32_t	head = tail;

	if (seen[start])
		return tail;
	seen[start] = 1;
	queue[tail++] = start;
	while (head < tail)
	{
		const uint32_t *list = n2_graph_links(g, queue[head++], 0);

		for (uint32_t i = 0; i < list[0]; i++)
		{
			if (!seen[list[1 + i]])
			{
				seen[list[1 + i]] = 1;
				queue[tail++] = list[1 + i];
			}
		}
	}
	return tail;
}

/* Adds u to v's level-0 list: a free slot, else in place of the last. */
static void
link_into(N2Graph *g, uint32_t v, uint32_t u)
{
	uint32_t   *list = n2_graph_links(g, v, 0);

	for (uint32_t i = 0; i < list[0]; i++)
	{
		if (list[1 + i] == u)
			return;
	}
	if (list[0] < (uint32_t) g->params.max_m0)
		list[1 + list[0]++] = u;
	else
		list[list[0]] = u;
}

int64_t
n2_graph_connect_orphans(N2Graph *g)
{
	uint8_t    *seen;
	uint32_t   *queue;
	uint32_t	tail;
	int64_t		fixed = 0;
	int			pass;

	if (g->n == 0)
		return 0;
	seen = calloc(g->n, 1);
	queue = malloc(sizeof(uint32_t) * g->n);
	if (seen == NULL || queue == NULL)
	{
		free(seen);
		free(queue);
		return -1;
	}

	/*
	 * Replacing a full list's last link can orphan that node in turn; a few
	 * passes settle it (each pass starts from a fresh traversal).
	 */
	for (pass = 0; pass < 8; pass++)
	{
		int64_t		before = fixed;

		memset(seen, 0, g->n);
		tail = mark_from(g, g->entry, seen, queue, 0);
		for (uint32_t u = 0; u < g->n && tail < g->n; u++)
		{
			const uint32_t *out;
			uint32_t	target = g->entry;

			if (seen[u])
				continue;
			out = n2_graph_links(g, u, 0);
			for (uint32_t i = 0; i < out[0]; i++)
			{
				const uint32_t *l = n2_graph_links(g, out[1 + i], 0);

				if (seen[out[1 + i]])
				{
					target = out[1 + i];
					if (l[0] < (uint32_t) g->params.max_m0)
						break;
				}
			}
			link_into(g, target, u);
			fixed++;
			tail = mark_from(g, u, seen, queue, tail);
		}
		if (fixed == before)
			break;
	}
	free(seen);
	free(queue);
	return fixed;
}
