// llmspy's BPF program, compiled by BCC at run time (llmspy/capture/ebpf.py loads it).
//
// Approach (the shape of bcc's tools/sslsniff.py, made exact):
//   * uprobes on SSL_write / SSL_write_ex / SSL_read / SSL_read_ex save the arguments
//     (SSL*, buffer, size_t* out-length) in a hash keyed by pid_tgid; the uretprobes read
//     what the call actually moved and copy exactly that many bytes:
//       SSL_read / SSL_write: the return value, as a 32-bit signed int; <= 0 moves nothing
//         (non-blocking sockets return -1 for "want read": a 64-bit read of it is 4 GiB);
//       SSL_read_ex / SSL_write_ex: return 1 means *readbytes / *written (size_t) bytes moved;
//         anything else moved nothing.
//     So a failed or retried call records nothing and no byte is recorded twice.
//   * One call becomes 1..MAX_CHUNKS ring-buffer records of at most CHUNK_SIZE bytes each,
//     sharing ts_ns (the call id together with tid); user space joins them by offset and
//     knows the call is whole when total_len - lost_len bytes arrived. Bytes beyond
//     MAX_CHUNKS * CHUNK_SIZE are not copied: every record of such a call has FLAG_TRUNCATED
//     and lost_len. A failed reservation stops the call and is counted in the per-CPU array
//     `counters` (COUNTER_LOST_RECORDS, COUNTER_LOST_BYTES).
//   * BCC cannot relocate bpf_loop callbacks (a subprogram), so the chunks are a bounded loop:
//     1024 iterations cost the 6.18 verifier ~630k of its 1M instructions (measured).
//   * Connection identity is (pid, SSL*). SSL_free emits KIND_CLOSE; the raw tracepoint
//     sched_process_exit emits KIND_EXIT for processes that produced data (no kprobes:
//     CONFIG_KPROBES may be off; raw tracepoints need no tracefs mount either).
//   * SNI: SSL_set_tlsext_host_name is a macro for SSL_ctrl(s, SSL_CTRL_SET_TLSEXT_HOSTNAME,
//     TLSEXT_NAMETYPE_host_name, name) in OpenSSL 1.1 and 3 (include/openssl/tls1.h); the
//     SSL_ctrl uprobe emits KIND_SNI with the name as data.
//   * Filters in the kernel: FILTER_PID (map pid_filter), FILTER_COMM (map comm_filter,
//     the thread's comm), SELF_PID (llmspy itself is never traced), and the `muted` hash
//     (pid, SSL*) that user space fills for connections it has classified as not LLM traffic.
//
// No kernel headers' helper macros (min/max from linux/minmax.h reject mixed types in BPF C
// with the Debian 6.1 headers): plain ternaries only. No kernel struct is dereferenced, so
// the program does not depend on the headers matching the running kernel's layouts.
#include <uapi/linux/ptrace.h>

#ifndef CHUNK_SIZE
#define CHUNK_SIZE 16384        // bytes per record; a power of two >= 4096
#endif
#ifndef MAX_CHUNKS
#define MAX_CHUNKS 1024         // 1024 * 16 KiB: one 16 MiB call arrives whole
#endif
#ifndef RINGBUF_PAGES
#define RINGBUF_PAGES 16384     // 64 MiB of 4 KiB pages (a power of two): room for a 16 MiB call
#endif
#define SMALL_SIZE 512          // record size classes: most TLS reads/writes of an LLM API
#define MEDIUM_SIZE 4096        // exchange (SSE events, headers) fit in 512 B or 4 KiB, so the
                                // ring is not filled with mostly empty 16 KiB records
#define SNI_MAX 256             // RFC 1035 host names are at most 253 bytes

#define KIND_SEND 0
#define KIND_RECV 1
#define KIND_CLOSE 2
#define KIND_EXIT 3
#define KIND_SNI 4

#define FLAG_TRUNCATED 1        // the call moved more than MAX_CHUNKS * CHUNK_SIZE bytes
#define FLAG_FAULT 2            // bpf_probe_read_user failed: this record's data is zeros

#define COUNTER_LOST_RECORDS 0  // ring-buffer reservations that failed
#define COUNTER_LOST_BYTES 1    // bytes of calls not delivered because of those failures
#define COUNTER_TRUNCATED_BYTES 2  // bytes beyond the MAX_CHUNKS cap
#define NUM_COUNTERS 3

// One ring-buffer record: this header, then chunk_len bytes of data. Every field is
// naturally aligned; user space mirrors it with a ctypes.Structure and passes its offsets
// back as -DOFF_<field>, checked below, so the two can never disagree silently.
struct record_hdr {
    u64 ts_ns;       // bpf_ktime_get_ns() (CLOCK_MONOTONIC) at the call's return
    u64 ssl;         // the SSL* pointer
    u64 total_len;   // bytes the call moved (KIND_SEND/RECV); name length (KIND_SNI)
    u64 offset;      // offset of this record's data in the call
    u64 lost_len;    // FLAG_TRUNCATED: bytes of the call not copied
    u32 pid;         // tgid
    u32 tid;
    u32 chunk_len;   // bytes of data following the header
    u8 kind;         // KIND_*
    u8 flags;        // FLAG_*
    u16 reserved;
    char comm[16];   // the calling thread's comm
};

#ifdef HDR_SIZE
_Static_assert(sizeof(struct record_hdr) == HDR_SIZE, "record_hdr size differs from user space");
#define CHECK_OFF(f, v) _Static_assert(__builtin_offsetof(struct record_hdr, f) == v, \
                                       "record_hdr." #f " offset differs from user space")
CHECK_OFF(ts_ns, OFF_ts_ns); CHECK_OFF(ssl, OFF_ssl); CHECK_OFF(total_len, OFF_total_len);
CHECK_OFF(offset, OFF_offset); CHECK_OFF(lost_len, OFF_lost_len); CHECK_OFF(pid, OFF_pid);
CHECK_OFF(tid, OFF_tid); CHECK_OFF(chunk_len, OFF_chunk_len); CHECK_OFF(kind, OFF_kind);
CHECK_OFF(flags, OFF_flags); CHECK_OFF(comm, OFF_comm);
#endif

struct call_args {
    u64 ssl;
    u64 buf;
    u64 len_ptr;     // size_t* of the *_ex functions, 0 for SSL_read/SSL_write
};

struct conn_key {
    u32 pid;
    u32 pad;
    u64 ssl;
};

struct comm_key {
    char comm[16];
};

BPF_RINGBUF_OUTPUT(records, RINGBUF_PAGES);
BPF_PERCPU_ARRAY(counters, u64, NUM_COUNTERS);
BPF_HASH(write_args, u64, struct call_args, 10240);
BPF_HASH(read_args, u64, struct call_args, 10240);
BPF_HASH(muted, struct conn_key, u8, 65536);
BPF_TABLE("lru_hash", u32, u8, active_pids, 16384);
BPF_HASH(pid_filter, u32, u8, 1024);
BPF_HASH(comm_filter, struct comm_key, u8, 64);

static __always_inline void count(u32 idx, u64 n) {
    u64 *c = counters.lookup(&idx);
    if (c)
        *c += n;     // per-CPU slot: no atomics needed
}

static __always_inline int wanted(u32 pid) {
#ifdef SELF_PID
    if (pid == SELF_PID)
        return 0;
#endif
#ifdef FILTER_PID
    if (!pid_filter.lookup(&pid))
        return 0;
#endif
#ifdef FILTER_COMM
    struct comm_key ck = {};
    bpf_get_current_comm(&ck.comm, sizeof(ck.comm));
    if (!comm_filter.lookup(&ck))
        return 0;
#endif
    return 1;
}

static __always_inline void fill_hdr(struct record_hdr *h, u64 id, u64 ssl, u8 kind, u64 ts) {
    h->ts_ns = ts;
    h->ssl = ssl;
    h->total_len = 0;
    h->offset = 0;
    h->lost_len = 0;
    h->pid = id >> 32;
    h->tid = (u32)id;
    h->chunk_len = 0;
    h->kind = kind;
    h->flags = 0;
    h->reserved = 0;
    bpf_get_current_comm(&h->comm, sizeof(h->comm));
}

static __always_inline int save_args(struct pt_regs *ctx, int is_ex, int is_read) {
    u64 id = bpf_get_current_pid_tgid();
    u32 pid = id >> 32;
    if (!wanted(pid))
        return 0;
    struct call_args a = {};
    a.ssl = PT_REGS_PARM1(ctx);
    a.buf = PT_REGS_PARM2(ctx);
    a.len_ptr = is_ex ? PT_REGS_PARM4(ctx) : 0;
    struct conn_key k = {.pid = pid, .ssl = a.ssl};
    if (muted.lookup(&k))
        return 0;
    if (is_read)
        read_args.update(&id, &a);
    else
        write_args.update(&id, &a);
    return 0;
}

int enter_write(struct pt_regs *ctx) { return save_args(ctx, 0, 0); }
int enter_write_ex(struct pt_regs *ctx) { return save_args(ctx, 1, 0); }
int enter_read(struct pt_regs *ctx) { return save_args(ctx, 0, 1); }
int enter_read_ex(struct pt_regs *ctx) { return save_args(ctx, 1, 1); }

// One record of a call: `size` is a size class, a constant at each (inlined) call site, as
// the verifier requires of ring-buffer reservations. Returns -1 when the ring buffer is full.
static __always_inline int emit_chunk(struct call_args *a, u64 id, u64 ts, u8 kind, u64 moved,
                                      u64 lost, u8 flags, u64 off, u64 n, u64 size) {
    struct record_hdr *h = records.ringbuf_reserve(sizeof(struct record_hdr) + size);
    if (!h) {
        count(COUNTER_LOST_RECORDS, 1);
        count(COUNTER_LOST_BYTES, moved - lost - off);
        return -1;
    }
    // The barrier hides what clang knows about n (<= size from the caller's branch), so the
    // clamp stays in the code and the verifier sees m <= size on this very path. 64-bit: a
    // zero-extended 32-bit copy would not carry the bound back to the register used.
    u64 m = n;
    asm volatile("" : "+r"(m));
    m = m > size ? size : m;
    fill_hdr(h, id, a->ssl, kind, ts);
    h->total_len = moved;
    h->offset = off;
    h->lost_len = lost;
    h->chunk_len = m;
    h->flags = flags;
    if (bpf_probe_read_user((u8 *)h + sizeof(struct record_hdr), m, (void *)(a->buf + off)) != 0)
        h->flags = flags | FLAG_FAULT;
    records.ringbuf_submit(h, 0);
    return 0;
}

// Copies the `moved` bytes at a->buf as the records of one call, up to MAX_CHUNKS * CHUNK_SIZE.
// The tail (want % CHUNK_SIZE bytes, in the smallest size class that holds it) goes first, then
// the full chunks in a bounded loop with one path per iteration: the verifier walks every
// iteration, and anything branching per iteration (or code after the loop) multiplies its work
// past the 1M-instruction limit. User space joins the records by offset.
static __always_inline int emit_call(struct call_args *a, u64 moved, u8 kind) {
    u64 id = bpf_get_current_pid_tgid();
    u64 ts = bpf_ktime_get_ns();
    u64 cap = (u64)MAX_CHUNKS * CHUNK_SIZE;
    u64 want = moved > cap ? cap : moved;
    u64 lost = moved - want;
    u8 flags = lost ? FLAG_TRUNCATED : 0;
    u32 pid = id >> 32;
    u8 one = 1;
    active_pids.update(&pid, &one);
    if (lost)
        count(COUNTER_TRUNCATED_BYTES, lost);
    u64 full = want / CHUNK_SIZE;
    u64 off = full * CHUNK_SIZE;
    u64 n = want - off;
    int err = 0;
    if (n == 0)
        err = 0;
    else if (n <= SMALL_SIZE)
        err = emit_chunk(a, id, ts, kind, moved, lost, flags, off, n, SMALL_SIZE);
    else if (n <= MEDIUM_SIZE)
        err = emit_chunk(a, id, ts, kind, moved, lost, flags, off, n, MEDIUM_SIZE);
    else
        err = emit_chunk(a, id, ts, kind, moved, lost, flags, off, n, CHUNK_SIZE);
    if (err)
        return 0;
#pragma clang loop unroll(disable)
    for (u32 i = 0; i < MAX_CHUNKS; i++) {
        if (i >= full)
            return 0;
        if (emit_chunk(a, id, ts, kind, moved, lost, flags, (u64)i * CHUNK_SIZE, CHUNK_SIZE,
                       CHUNK_SIZE))
            return 0;
    }
    return 0;
}

static __always_inline int finish(struct pt_regs *ctx, int is_ex, int is_read) {
    u64 id = bpf_get_current_pid_tgid();
    struct call_args *a = is_read ? read_args.lookup(&id) : write_args.lookup(&id);
    if (!a)
        return 0;
    struct call_args args = *a;
    if (is_read)
        read_args.delete(&id);
    else
        write_args.delete(&id);
    u64 moved = 0;
    if (is_ex) {
        if ((int)PT_REGS_RC(ctx) != 1 || !args.len_ptr)
            return 0;
        size_t n = 0;
        if (bpf_probe_read_user(&n, sizeof(n), (void *)args.len_ptr) != 0)
            return 0;
        moved = n;
    } else {
        int ret = (int)PT_REGS_RC(ctx);   // int SSL_read(...): 32 bits, signed
        if (ret <= 0)
            return 0;
        moved = (u64)ret;
    }
    if (moved == 0)
        return 0;
    return emit_call(&args, moved, is_read ? KIND_RECV : KIND_SEND);
}

int return_write(struct pt_regs *ctx) { return finish(ctx, 0, 0); }
int return_write_ex(struct pt_regs *ctx) { return finish(ctx, 1, 0); }
int return_read(struct pt_regs *ctx) { return finish(ctx, 0, 1); }
int return_read_ex(struct pt_regs *ctx) { return finish(ctx, 1, 1); }

// long SSL_ctrl(SSL *s, int cmd, long larg, void *parg)
int enter_ctrl(struct pt_regs *ctx) {
    if ((int)PT_REGS_PARM2(ctx) != 55 /* SSL_CTRL_SET_TLSEXT_HOSTNAME */ ||
        PT_REGS_PARM3(ctx) != 0 /* TLSEXT_NAMETYPE_host_name */ || !PT_REGS_PARM4(ctx))
        return 0;
    u64 id = bpf_get_current_pid_tgid();
    if (!wanted(id >> 32))
        return 0;
    struct record_hdr *h = records.ringbuf_reserve(sizeof(struct record_hdr) + SNI_MAX);
    if (!h) {
        count(COUNTER_LOST_RECORDS, 1);
        return 0;
    }
    fill_hdr(h, id, PT_REGS_PARM1(ctx), KIND_SNI, bpf_ktime_get_ns());
    long n = bpf_probe_read_user_str((u8 *)h + sizeof(struct record_hdr), SNI_MAX,
                                     (void *)PT_REGS_PARM4(ctx));
    if (n <= 0) {
        h->flags |= FLAG_FAULT;
        n = 1;
    }
    h->chunk_len = n - 1;      // without the terminating NUL
    h->total_len = n - 1;
    records.ringbuf_submit(h, 0);
    return 0;
}

// void SSL_free(SSL *s)
int enter_free(struct pt_regs *ctx) {
    u64 ssl = PT_REGS_PARM1(ctx);
    if (!ssl)
        return 0;
    u64 id = bpf_get_current_pid_tgid();
    struct conn_key k = {.pid = id >> 32, .ssl = ssl};
    muted.delete(&k);
    if (!wanted(k.pid))
        return 0;
    struct record_hdr *h = records.ringbuf_reserve(sizeof(struct record_hdr));
    if (!h) {
        count(COUNTER_LOST_RECORDS, 1);
        return 0;
    }
    fill_hdr(h, id, ssl, KIND_CLOSE, bpf_ktime_get_ns());
    records.ringbuf_submit(h, 0);
    return 0;
}

// Every exiting thread: drop its saved arguments; a process that produced data: KIND_EXIT
// once its thread-group leader exits, so user space closes that pid's connections.
RAW_TRACEPOINT_PROBE(sched_process_exit) {
    u64 id = bpf_get_current_pid_tgid();
    u32 pid = id >> 32;
    write_args.delete(&id);
    read_args.delete(&id);
    if (pid != (u32)id || !active_pids.lookup(&pid))
        return 0;
    active_pids.delete(&pid);
    struct record_hdr *h = records.ringbuf_reserve(sizeof(struct record_hdr));
    if (!h) {
        count(COUNTER_LOST_RECORDS, 1);
        return 0;
    }
    fill_hdr(h, id, 0, KIND_EXIT, bpf_ktime_get_ns());
    records.ringbuf_submit(h, 0);
    return 0;
}
