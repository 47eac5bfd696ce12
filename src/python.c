// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * CPython: finding interpreters in processes, and naming the code objects
 * BPF finds in their frames.  Offsets come from a table by version; those of
 * 3.10, 3.11 and 3.12 were taken with gdb from pyenv builds with DWARF and
 * checked against live processes of Debian's python3.11 (LTO, no DWARF),
 * see tests/e2e/test_python.py.  3.13+ publishes its own offsets in
 * _PyRuntime._Py_DebugOffsets: python__detect() is where reading them would
 * go (not done: no 3.13 interpreter to test it with here).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include "drip/elf.h"
#include "drip/log.h"
#include "drip/procmaps.h"
#include "drip/pyline.h"
#include "drip/python.h"
#include "drip/u64map.h"

#define MAX_STR_CHARS  1024	  /* code points of a name or file name kept */
#define MAX_LINE_TABLE (64 << 10) /* bytes of a line table read */
#define CODE_HEAD      0x90	  /* code object bytes read: up to co_linetable, all versions */
#define MAX_FILES      64	  /* interpreter files remembered */
#define OB_TYPE	       8	  /* PyObject.ob_type */
#define VAR_SIZE       16	  /* PyVarObject.ob_size, PyASCIIObject.length */
#define STR_STATE      32	  /* PyASCIIObject.state */
#define BYTES_DATA     32	  /* PyBytesObject.ob_sval */

struct layout {
	uint32_t version; /* major << 8 | minor */
	struct drip_py_proc bpf;
	uint32_t co_firstlineno, co_filename, co_name, co_linetable; /* co_name: the qualname */
	enum pyline_format lines;
	uint32_t ascii_size;   /* sizeof(PyASCIIObject): where compact ASCII text starts */
	uint32_t compact_size; /* sizeof(PyCompactUnicodeObject): other compact text */
};

static const struct layout layouts[] = {
	{ .version = 0x030a,
	  .bpf = { .runtime_interp = 0x20,
		   .interp_tstate = 0x08,
		   .interp_next = 0,
		   .tstate_next = 0x08,
		   .tstate_thread_id = 0xb0,
		   .tstate_frame = 0x18,
		   .cframe_frame = DRIP_PY_NONE,
		   .frame_code = 0x20,
		   .frame_previous = 0x18,
		   .frame_instr = 0x60,
		   .frame_entry = DRIP_PY_NONE,
		   .frame_size = 0x68,
		   .code_start = 0,
		   .instr_kind = DRIP_PY_INSTR_INDEX,
		   .entry_kind = DRIP_PY_ENTRY_EVERY },
	  .co_firstlineno = 0x28,
	  .co_filename = 0x68,
	  .co_name = 0x70,
	  .co_linetable = 0x78,
	  .lines = PYLINE_310,
	  .ascii_size = 48,
	  .compact_size = 72 },
	{ .version = 0x030b,
	  .bpf = { .runtime_interp = 0x28,
		   .interp_tstate = 0x10,
		   .interp_next = 0,
		   .tstate_next = 0x08,
		   .tstate_thread_id = 0x98,
		   .tstate_frame = 0x38,
		   .cframe_frame = 0x08,
		   .frame_code = 0x20,
		   .frame_previous = 0x30,
		   .frame_instr = 0x38,
		   .frame_entry = 0x44,
		   .frame_size = 0x48,
		   .code_start = 0xb8,
		   .instr_kind = DRIP_PY_INSTR_PTR,
		   .entry_kind = DRIP_PY_ENTRY_FLAG,
		   .frame_stack = 1 },
	  .co_firstlineno = 0x48,
	  .co_filename = 0x70,
	  .co_name = 0x80,
	  .co_linetable = 0x88,
	  .lines = PYLINE_311,
	  .ascii_size = 48,
	  .compact_size = 72 },
	{ .version = 0x030c,
	  .bpf = { .runtime_interp = 0x28,
		   .interp_tstate = 0x48,
		   .interp_next = 0,
		   .tstate_next = 0x08,
		   .tstate_thread_id = 0x88,
		   .tstate_frame = 0x38,
		   .cframe_frame = 0x00,
		   .frame_code = 0x00,
		   .frame_previous = 0x08,
		   .frame_instr = 0x38,
		   .frame_entry = 0x46,
		   .frame_size = 0x48,
		   .code_start = 0xc0,
		   .instr_kind = DRIP_PY_INSTR_PTR,
		   .entry_kind = DRIP_PY_ENTRY_SHIM,
		   .shim_owner = 3 /* FRAME_OWNED_BY_CSTACK */,
		   .frame_stack = 1 },
	  .co_firstlineno = 0x44,
	  .co_filename = 0x70,
	  .co_name = 0x80,
	  .co_linetable = 0x88,
	  .lines = PYLINE_311,
	  .ascii_size = 40,
	  .compact_size = 56 },
};

/* An interpreter file (executable or libpython), once per (dev, inode). */
struct py_file {
	uint64_t dev, ino;
	bool python;
	const struct layout *l;
	uint64_t runtime, code_type, str_type, bytes_type, version_sym; /* ELF vaddrs */
	uint64_t name_version; /* from the file name, 0: none */
	struct elf_file *elf;
};

/* A CPython process: its layout and where its types are (ASLR). */
struct py_proc {
	pid_t pid;
	const struct layout *l;
	uint64_t code_type, str_type, bytes_type;
};

/* A code object as read: its identity fields tell a reused address. */
struct code_entry {
	pid_t pid;
	uint64_t code;
	uint64_t filename, name, linetable;
	int32_t firstlineno;
	const struct layout *l;
	char *function, *file;
	uint8_t *lines;
	size_t nr_lines;
};

struct python {
	python_read_fn read;
	void *ctx;
	struct py_file files[MAX_FILES];
	size_t nr_files;
	struct py_proc *procs;
	size_t nr_procs, cap_procs;
	struct u64map by_pid; /* pid -> procs index */
	struct code_entry **codes;
	size_t nr_codes, cap_codes;
	struct u64map by_code; /* hash(pid, code) -> codes index */
};

static int vm_read(void *ctx, pid_t pid, uint64_t addr, void *buf, size_t len)
{
	struct iovec local = { .iov_base = buf, .iov_len = len };
	struct iovec remote = { .iov_base = (void *)(uintptr_t)addr, .iov_len = len };
	ssize_t n = process_vm_readv(pid, &local, 1, &remote, 1, 0);

	if (n < 0)
		return -errno;
	return (size_t)n == len ? 0 : -EFAULT;
}

struct python *python__new(python_read_fn read, void *ctx)
{
	struct python *py = calloc(1, sizeof(*py));

	if (!py) {
		errno = ENOMEM;
		return NULL;
	}
	py->read = read ? read : vm_read;
	py->ctx = ctx;
	return py;
}

static void code_entry_free(struct code_entry *e)
{
	if (!e)
		return;
	free(e->function);
	free(e->file);
	free(e->lines);
	free(e);
}

void python__free(struct python *py)
{
	if (!py)
		return;
	for (size_t i = 0; i < py->nr_files; i++)
		elf_file__close(py->files[i].elf);
	for (size_t i = 0; i < py->nr_codes; i++)
		code_entry_free(py->codes[i]);
	free(py->codes);
	free(py->procs);
	u64map__release(&py->by_pid);
	u64map__release(&py->by_code);
	free(py);
}

static const struct layout *layout_of(uint32_t version)
{
	for (size_t i = 0; i < sizeof(layouts) / sizeof(layouts[0]); i++)
		if (layouts[i].version == version)
			return &layouts[i];
	return NULL;
}

bool python__knows_version(uint32_t version)
{
	return layout_of(version);
}

/* "python3.11", "libpython3.11.so.1.0", "python3.11d": 0x030b; 0 for other names. */
static uint32_t version_of_name(const char *path)
{
	const char *base = strrchr(path, '/');
	unsigned int minor = 0;
	int digits = 0;

	base = base ? base + 1 : path;
	if (!strncmp(base, "lib", 3))
		base += 3;
	if (strncmp(base, "python3.", 8))
		return 0;
	for (base += 8; *base >= '0' && *base <= '9' && digits < 3; base++, digits++)
		minor = minor * 10 + (*base - '0');
	if (!digits || (*base && *base != '.' && *base != 'd' && *base != 'm' && *base != 't'))
		return 0;
	return 0x0300 | minor;
}

static struct py_file *file_of(struct python *py, pid_t pid, const struct vma *v)
{
	struct py_file *f;
	char path[96];
	uint64_t dev = (uint64_t)v->dev_major << 32 | v->dev_minor;
	int err;

	for (size_t i = 0; i < py->nr_files; i++)
		if (py->files[i].dev == dev && py->files[i].ino == v->inode)
			return &py->files[i];
	if (py->nr_files == MAX_FILES)
		return NULL;
	f = &py->files[py->nr_files];
	memset(f, 0, sizeof(*f));
	f->dev = dev;
	f->ino = v->inode;
	f->name_version = version_of_name(v->path);
	/* the very file the process maps, even in another mount namespace */
	snprintf(path, sizeof(path), "/proc/%d/map_files/%llx-%llx", pid,
		 (unsigned long long)v->start, (unsigned long long)v->end);
	err = elf_file__open(path, &f->elf);
	if (err)
		err = elf_file__open(v->path, &f->elf);
	if (err)
		return NULL; /* not remembered: the process may be gone, try again later */
	py->nr_files++;
	if (elf_file__symbol_vaddr(f->elf, "_PyRuntime", &f->runtime) ||
	    elf_file__symbol_vaddr(f->elf, "PyCode_Type", &f->code_type) ||
	    elf_file__symbol_vaddr(f->elf, "PyUnicode_Type", &f->str_type) ||
	    elf_file__symbol_vaddr(f->elf, "PyBytes_Type", &f->bytes_type))
		return f; /* not an interpreter (or a stripped one): f->python stays false */
	if (elf_file__symbol_vaddr(f->elf, "Py_Version", &f->version_sym))
		f->version_sym = 0; /* before 3.11: the name tells */
	f->python = true;
	return f;
}

/* Where v's file is loaded: runtime address - ELF vaddr. */
static int load_bias(const struct py_file *f, const struct vma *v, uint64_t *bias)
{
	uint64_t vaddr;

	if (elf_file__offset_to_vaddr(f->elf, v->offset, &vaddr))
		return -ERANGE;
	*bias = v->start - vaddr;
	return 0;
}

static int remember_proc(struct python *py, const struct py_proc *pp)
{
	uint64_t idx;

	if (u64map__get(&py->by_pid, (uint64_t)pp->pid, &idx)) {
		py->procs[idx] = *pp; /* a new image, or the same one again */
		return 0;
	}
	if (py->nr_procs == py->cap_procs) {
		size_t cap = py->cap_procs ? 2 * py->cap_procs : 16;
		struct py_proc *n = reallocarray(py->procs, cap, sizeof(*n));

		if (!n)
			return -ENOMEM;
		py->procs = n;
		py->cap_procs = cap;
	}
	py->procs[py->nr_procs] = *pp;
	if (u64map__set(&py->by_pid, (uint64_t)pp->pid, py->nr_procs))
		return -ENOMEM;
	py->nr_procs++;
	return 0;
}

static void forget_proc(struct python *py, pid_t pid)
{
	uint64_t idx;

	if (u64map__get(&py->by_pid, (uint64_t)pid, &idx))
		py->procs[idx].l = NULL;
}

int python__detect(struct python *py, pid_t pid, const struct procmaps *m, struct drip_py_proc *out)
{
	for (size_t i = 0; m && i < m->nr; i++) {
		const struct vma *v = &m->vmas[i];
		struct py_proc pp = { .pid = pid };
		uint64_t bias, version = 0;
		struct py_file *f;

		if (!v->inode || !version_of_name(v->path))
			continue;
		f = file_of(py, pid, v);
		if (!f || !f->python || load_bias(f, v, &bias))
			continue;
		if (f->version_sym &&
		    !py->read(py->ctx, pid, f->version_sym + bias, &version, sizeof(version)))
			version = (version >> 16) & 0xffff; /* PY_VERSION_HEX: 0x030b02f0 */
		else
			version = f->name_version;
		pp.l = layout_of((uint32_t)version);
		if (!pp.l) {
			pr_info("process %d runs Python %u.%u: drip has no offsets for it", pid,
				(unsigned int)(version >> 8), (unsigned int)(version & 0xff));
			forget_proc(py, pid);
			return 0;
		}
		pp.code_type = f->code_type + bias;
		pp.str_type = f->str_type + bias;
		pp.bytes_type = f->bytes_type + bias;
		if (remember_proc(py, &pp))
			return -ENOMEM;
		*out = pp.l->bpf;
		out->runtime = f->runtime + bias;
		return 1;
	}
	forget_proc(py, pid);
	return 0;
}

void python__inherit(struct python *py, pid_t pid, pid_t ppid)
{
	uint64_t idx;
	struct py_proc pp;

	if (!u64map__get(&py->by_pid, (uint64_t)ppid, &idx) || !py->procs[idx].l)
		return;
	pp = py->procs[idx];
	pp.pid = pid;
	remember_proc(py, &pp);
}

static const struct py_proc *proc_of(const struct python *py, pid_t pid)
{
	uint64_t idx;

	if (!pid || !u64map__get(&py->by_pid, (uint64_t)pid, &idx) || !py->procs[idx].l)
		return NULL;
	return &py->procs[idx];
}

/* Append code point cp as UTF-8; surrogates and out-of-range values become U+FFFD. */
static size_t put_utf8(char *o, uint32_t cp)
{
	if ((cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
		cp = 0xfffd;
	if (cp < 0x80) {
		o[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		o[0] = (char)(0xc0 | cp >> 6);
		o[1] = (char)(0x80 | (cp & 63));
		return 2;
	}
	if (cp < 0x10000) {
		o[0] = (char)(0xe0 | cp >> 12);
		o[1] = (char)(0x80 | (cp >> 6 & 63));
		o[2] = (char)(0x80 | (cp & 63));
		return 3;
	}
	o[0] = (char)(0xf0 | cp >> 18);
	o[1] = (char)(0x80 | (cp >> 12 & 63));
	o[2] = (char)(0x80 | (cp >> 6 & 63));
	o[3] = (char)(0x80 | (cp & 63));
	return 4;
}

/* A str object's text as UTF-8 (compact strings only: what code objects hold). */
static char *read_str(struct python *py, pid_t pid, const struct py_proc *pp, uint64_t addr)
{
	uint8_t head[STR_STATE + 4];
	uint64_t type, length, data;
	uint32_t state, kind, width;
	uint8_t *raw;
	char *out, *o;

	if (!addr || py->read(py->ctx, pid, addr, head, sizeof(head)))
		return NULL;
	memcpy(&type, head + OB_TYPE, 8);
	memcpy(&length, head + VAR_SIZE, 8);
	memcpy(&state, head + STR_STATE, 4);
	kind = (state >> 2) & 7;
	if (type != pp->str_type || !(state >> 5 & 1) || (kind != 1 && kind != 2 && kind != 4))
		return NULL; /* not a str, or not compact: none in code objects */
	if (length > MAX_STR_CHARS)
		length = MAX_STR_CHARS;
	width = kind;
	data = addr + (state >> 6 & 1 ? pp->l->ascii_size : pp->l->compact_size);
	raw = malloc(length * width + 1);
	out = malloc(length * 4 + 1);
	if (!raw || !out || py->read(py->ctx, pid, data, raw, length * width)) {
		free(raw);
		free(out);
		return NULL;
	}
	o = out;
	for (uint64_t i = 0; i < length; i++) {
		uint32_t cp = 0;

		memcpy(&cp, raw + i * width, width); /* little-endian */
		o += put_utf8(o, cp ? cp : 0xfffd);  /* a NUL would cut the name */
	}
	*o = 0;
	free(raw);
	return out;
}

static int read_bytes(struct python *py, pid_t pid, const struct py_proc *pp, uint64_t addr,
		      uint8_t **out, size_t *len)
{
	uint8_t head[BYTES_DATA];
	uint64_t type, size;
	uint8_t *buf;

	if (!addr || py->read(py->ctx, pid, addr, head, sizeof(head)))
		return -EFAULT;
	memcpy(&type, head + OB_TYPE, 8);
	memcpy(&size, head + VAR_SIZE, 8);
	if (type != pp->bytes_type || size > MAX_LINE_TABLE)
		return -EBADMSG;
	buf = malloc(size ? size : 1);
	if (!buf)
		return -ENOMEM;
	if (size && py->read(py->ctx, pid, addr + BYTES_DATA, buf, size)) {
		free(buf);
		return -EFAULT;
	}
	*out = buf;
	*len = size;
	return 0;
}

static uint64_t field_u64(const uint8_t *head, uint32_t off)
{
	uint64_t v;

	memcpy(&v, head + off, 8);
	return v;
}

/* The identity of the code object at code as it is now: 0, -EFAULT (gone), -EBADMSG. */
static int read_code_head(struct python *py, pid_t pid, const struct py_proc *pp, uint64_t code,
			  struct code_entry *e)
{
	const struct layout *l = pp->l;
	uint8_t head[CODE_HEAD];

	if (py->read(py->ctx, pid, code, head, sizeof(head)))
		return -EFAULT;
	if (field_u64(head, OB_TYPE) != pp->code_type)
		return -EBADMSG; /* freed, and something else lives there */
	e->pid = pid;
	e->code = code;
	e->l = l;
	e->filename = field_u64(head, l->co_filename);
	e->name = field_u64(head, l->co_name);
	e->linetable = field_u64(head, l->co_linetable);
	memcpy(&e->firstlineno, head + l->co_firstlineno, 4);
	return 0;
}

static uint64_t code_key(pid_t pid, uint64_t code)
{
	uint64_t h = (code ^ ((uint64_t)pid << 47 | (uint64_t)pid >> 17)) * 0x9e3779b97f4a7c15ULL;

	return h ? h : 1;
}

static struct code_entry *cached(const struct python *py, pid_t pid, uint64_t code)
{
	uint64_t idx;
	struct code_entry *e;

	if (!pid || !u64map__get(&py->by_code, code_key(pid, code), &idx))
		return NULL;
	e = py->codes[idx];
	return e->pid == pid && e->code == code ? e : NULL;
}

/*
 * Kept until python__free (reports point at its strings); a newer entry for
 * the same (pid, code) takes over the key.
 */
static int cache_add(struct python *py, struct code_entry *e)
{
	if (py->nr_codes == py->cap_codes) {
		size_t cap = py->cap_codes ? 2 * py->cap_codes : 256;
		struct code_entry **n = reallocarray(py->codes, cap, sizeof(*n));

		if (!n)
			return -ENOMEM;
		py->codes = n;
		py->cap_codes = cap;
	}
	if (u64map__set(&py->by_code, code_key(e->pid, e->code), py->nr_codes))
		return -ENOMEM;
	py->codes[py->nr_codes++] = e;
	return 0;
}

static bool same_code(const struct code_entry *a, const struct code_entry *b)
{
	return a->filename == b->filename && a->name == b->name && a->linetable == b->linetable &&
	       a->firstlineno == b->firstlineno;
}

/* The live code object, from the cache when it is still the one cached. */
static int lookup_live(struct python *py, pid_t pid, const struct py_proc *pp, uint64_t code,
		       struct code_entry **out)
{
	struct code_entry now = { 0 }, *e, *old;
	int err;

	err = read_code_head(py, pid, pp, code, &now);
	if (err)
		return err;
	old = cached(py, pid, code);
	if (old && same_code(old, &now)) {
		*out = old;
		return 0;
	}
	e = malloc(sizeof(*e));
	if (!e)
		return -ENOMEM;
	*e = now;
	e->function = read_str(py, pid, pp, e->name);
	e->file = read_str(py, pid, pp, e->filename);
	if (read_bytes(py, pid, pp, e->linetable, &e->lines, &e->nr_lines)) {
		e->lines = NULL;
		e->nr_lines = 0;
	}
	err = cache_add(py, e);
	if (err) {
		code_entry_free(e);
		return err;
	}
	*out = e;
	return 0;
}

int python__frame(struct python *py, pid_t pid, pid_t ppid, uint64_t code, int32_t instr,
		  struct python_frame *out)
{
	const struct py_proc *pp = proc_of(py, pid);
	struct code_entry *e = NULL;
	int err = -ENOENT, line;

	*out = (struct python_frame){ 0 };
	if (!pp)
		pp = proc_of(py, ppid); /* a fork that is gone before it was looked at */
	if (!pp)
		return -ENOENT;
	err = lookup_live(py, pid, pp, code, &e);
	if (err && err != -ENOMEM) {
		/*
		 * Gone, or freed since BPF saw it: what was read earlier, or the
		 * parent's copy (a fork runs the code its parent loaded).
		 */
		e = cached(py, pid, code);
		if (!e)
			e = cached(py, ppid, code);
		if (!e && ppid && proc_of(py, ppid) && lookup_live(py, ppid, pp, code, &e))
			e = NULL;
		err = e ? 0 : -ENOENT;
	}
	if (err)
		return err;
	out->function = e->function;
	out->file = e->file;
	line = pyline__addr2line(e->l->lines, e->lines, e->nr_lines, e->firstlineno, instr);
	out->line = line > 0 ? (uint32_t)line : 0;
	return 0;
}
