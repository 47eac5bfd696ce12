// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * /proc/PID/maps parser.  The kernel writes each line as
 *
 *	start-end perms offset major:minor inode[ <padding>path]
 *
 * with hex start/end/offset/major/minor, decimal inode, and a path that may
 * hold any byte but '\n' (the kernel escapes newlines as "\012"), spaces
 * included, and may end in " (deleted)".
 *
 * Malformed lines are skipped, not fatal: one odd line (a future kernel's
 * format, a hostile path) must not cost the whole process its symbols, and a
 * skipped vma only leaves its addresses unresolved, which is no guess.  But
 * a text in which no line parses is not a maps file: -EBADMSG.  Lines that
 * overlap an earlier vma are skipped the same way, so the result is sorted
 * and disjoint whatever the input.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "drip/log.h"
#include "drip/procmaps.h"

#define MAX_LINES   (1u << 20) /* the kernel's default max_map_count is 65530 */
#define MAX_READ    (64u << 20)
#define FIRST_READ  (64u << 10)
#define DELETED	    " (deleted)"
#define DELETED_LEN (sizeof(DELETED) - 1)

/* A cursor over one line: [p, end) */
struct line {
	const char *p, *end;
};

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* 1 to 16 hex digits; more cannot fit 64 bits */
static int get_hex(struct line *l, uint64_t *v)
{
	int n = 0, d;

	*v = 0;
	while (l->p < l->end && (d = hexval(*l->p)) >= 0) {
		if (++n > 16)
			return -EBADMSG;
		*v = *v << 4 | (uint64_t)d;
		l->p++;
	}
	return n ? 0 : -EBADMSG;
}

static int get_hex32(struct line *l, uint32_t *v)
{
	uint64_t x;

	if (get_hex(l, &x) || x > UINT32_MAX)
		return -EBADMSG;
	*v = (uint32_t)x;
	return 0;
}

static int get_dec(struct line *l, uint64_t *v)
{
	int n = 0;

	*v = 0;
	while (l->p < l->end && *l->p >= '0' && *l->p <= '9') {
		if (__builtin_mul_overflow(*v, 10, v) ||
		    __builtin_add_overflow(*v, (uint64_t)(*l->p - '0'), v))
			return -EBADMSG;
		l->p++;
		n++;
	}
	return n ? 0 : -EBADMSG;
}

static int get_char(struct line *l, char c)
{
	if (l->p >= l->end || *l->p != c)
		return -EBADMSG;
	l->p++;
	return 0;
}

static int get_perms(struct line *l, struct vma *v)
{
	const char *s = l->p;

	if (l->end - s < 4 || (s[0] != 'r' && s[0] != '-') || (s[1] != 'w' && s[1] != '-') ||
	    (s[2] != 'x' && s[2] != '-') || (s[3] != 'p' && s[3] != 's'))
		return -EBADMSG;
	v->exec = s[2] == 'x';
	l->p += 4;
	return 0;
}

/* Parse one line (without its '\n'); the path goes to *strings, which advances. */
static int parse_line(struct line *l, struct vma *v, char **strings)
{
	const char *path;
	size_t len;

	memset(v, 0, sizeof(*v));
	if (memchr(l->p, '\0', l->end - l->p))
		return -EBADMSG; /* the kernel never writes NUL: a forged line */
	if (get_hex(l, &v->start) || get_char(l, '-') || get_hex(l, &v->end) || get_char(l, ' ') ||
	    get_perms(l, v) || get_char(l, ' ') || get_hex(l, &v->offset) || get_char(l, ' ') ||
	    get_hex32(l, &v->dev_major) || get_char(l, ':') || get_hex32(l, &v->dev_minor) ||
	    get_char(l, ' ') || get_dec(l, &v->inode))
		return -EBADMSG;
	if (v->start >= v->end)
		return -EBADMSG;
	if (l->p < l->end && get_char(l, ' '))
		return -EBADMSG; /* "1234x": the inode runs into garbage */
	while (l->p < l->end && *l->p == ' ')
		l->p++;
	path = l->p;
	len = l->end - l->p;
	if (len > DELETED_LEN && !memcmp(path + len - DELETED_LEN, DELETED, DELETED_LEN)) {
		v->deleted = true;
		len -= DELETED_LEN;
	}
	memcpy(*strings, path, len);
	(*strings)[len] = '\0';
	v->path = *strings;
	*strings += len + 1;
	return 0;
}

static int cmp_start(const void *pa, const void *pb)
{
	const struct vma *a = pa, *b = pb;

	if (a->start != b->start)
		return a->start < b->start ? -1 : 1;
	return 0;
}

void procmaps__free(struct procmaps *m)
{
	if (!m)
		return;
	free(m->vmas);
	free(m->strings);
	free(m);
}

int procmaps__parse(const char *buf, size_t len, struct procmaps **out)
{
	size_t nr_lines = 0, bad = 0, n = 0;
	const char *p = buf, *end = buf + len;
	struct procmaps *m;
	char *s;
	int err = -ENOMEM;

	*out = NULL;
	if (!buf && len)
		return -EINVAL;
	for (const char *q = p; q < end && (q = memchr(q, '\n', end - q)); q++)
		if (++nr_lines > MAX_LINES)
			return -E2BIG;
	if (len && buf[len - 1] != '\n' && ++nr_lines > MAX_LINES)
		return -E2BIG;

	m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	/* a path and its NUL never outgrow its line and '\n': len + 1 bytes suffice */
	m->strings = malloc(len + 1);
	m->vmas = calloc(nr_lines ? nr_lines : 1, sizeof(*m->vmas));
	if (!m->strings || !m->vmas)
		goto out_free;
	s = m->strings;
	while (p < end) {
		const char *nl = memchr(p, '\n', end - p);
		struct line l = { p, nl ? nl : end };

		p = nl ? nl + 1 : end;
		if (parse_line(&l, &m->vmas[n], &s)) {
			bad++;
			continue;
		}
		n++;
	}
	if (bad) {
		pr_debug("maps: skipped %zu malformed lines", bad);
		err = -EBADMSG;
		if (!n)
			goto out_free;
	}
	qsort(m->vmas, n, sizeof(*m->vmas), cmp_start);
	m->nr = 0;
	for (size_t i = 0; i < n; i++) {
		if (m->nr && m->vmas[i].start < m->vmas[m->nr - 1].end) {
			pr_debug("maps: skipped a vma overlapping another");
			continue;
		}
		m->vmas[m->nr++] = m->vmas[i];
	}
	*out = m;
	return 0;
out_free:
	procmaps__free(m);
	return err;
}

/* The whole file: /proc files must be read to EOF in a loop, a page or so per read. */
static int read_all(int fd, char **out, size_t *out_len)
{
	size_t cap = FIRST_READ, len = 0;
	char *buf = malloc(cap), *tmp;

	if (!buf)
		return -ENOMEM;
	for (;;) {
		ssize_t n;

		if (len == cap) {
			if (cap >= MAX_READ) {
				free(buf);
				return -EFBIG;
			}
			tmp = realloc(buf, cap * 2);
			if (!tmp) {
				free(buf);
				return -ENOMEM;
			}
			buf = tmp;
			cap *= 2;
		}
		n = read(fd, buf + len, cap - len);
		if (n < 0) {
			int err = -errno;

			if (err == -EINTR)
				continue;
			free(buf);
			return err;
		}
		if (!n)
			break;
		len += n;
	}
	*out = buf;
	*out_len = len;
	return 0;
}

int procmaps__read(int pid, struct procmaps **out)
{
	char path[32], *buf = NULL;
	size_t len = 0;
	int fd, err;

	*out = NULL;
	if (pid <= 0)
		return -EINVAL;
	snprintf(path, sizeof(path), "/proc/%d/maps", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno; /* -ENOENT: no such process */
	err = read_all(fd, &buf, &len);
	close(fd);
	if (err)
		return err; /* -ESRCH: it exited while we read */
	err = procmaps__parse(buf, len, out);
	free(buf);
	return err;
}

const struct vma *procmaps__find(const struct procmaps *m, uint64_t addr)
{
	size_t lo = 0, hi;

	if (!m)
		return NULL;
	hi = m->nr;
	while (lo < hi) { /* first vma starting above addr */
		size_t mid = lo + (hi - lo) / 2;

		if (m->vmas[mid].start <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo && addr < m->vmas[lo - 1].end)
		return &m->vmas[lo - 1];
	return NULL;
}

int procmaps__copy(const struct procmaps *m, struct procmaps **out)
{
	struct procmaps *c;
	size_t len = 0;
	char *p;

	for (size_t i = 0; i < m->nr; i++)
		len += strlen(m->vmas[i].path) + 1;
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->vmas = malloc((m->nr ? m->nr : 1) * sizeof(*c->vmas));
	c->strings = malloc(len ? len : 1);
	if (!c->vmas || !c->strings) {
		procmaps__free(c);
		return -ENOMEM;
	}
	p = c->strings;
	for (size_t i = 0; i < m->nr; i++) {
		size_t n = strlen(m->vmas[i].path) + 1;

		c->vmas[i] = m->vmas[i];
		memcpy(p, m->vmas[i].path, n);
		c->vmas[i].path = p;
		p += n;
	}
	c->nr = m->nr;
	*out = c;
	return 0;
}
