/*
 * blake3.c — a portable BLAKE3 (default hash mode, 32-byte output).
 *
 * Coverage sidecar names carry a BLAKE3 digest of their content (format-v6
 * §1.11), so tstable needs the same hash the reference writer uses. Sidecars
 * are small (bytes to a few MB) and hashed once per append, so this file
 * favours a straight reading of the BLAKE3 specification over speed: one
 * word at a time, no SIMD, no multi-chunk parallelism.
 *
 * The shape, following the specification:
 *   - the compression function mixes a 16-word state (8 chaining-value
 *     words, 4 IV words, a 64-bit counter, the block length and flags)
 *     with a 64-byte block over 7 rounds, permuting the message between rounds;
 *   - input is split into 1024-byte chunks; each chunk is 16 blocks chained
 *     through the compression function, with CHUNK_START on its first block
 *     and CHUNK_END on its last, and the chunk's index as the counter;
 *   - the chunk chaining values are the leaves of a binary Merkle tree in
 *     which every left subtree is a complete power-of-two number of chunks;
 *     a parent compresses the two child values with the PARENT flag;
 *   - the root node (the single chunk, or the top parent) is compressed
 *     again with ROOT, and its output words are the digest.
 *
 * The tree is built incrementally with a stack of subtree values: when the
 * n-th chunk completes, it merges with the stack once for every trailing
 * zero bit of n. The last chunk is held back (never pushed) because only at
 * final() do we know whether it is the root. A chunk is only finished when
 * more input arrives, and likewise a block, so the final block of the
 * message is always available to receive CHUNK_END and ROOT.
 *
 * One concession to speed: table coverage snapshots reach tens of MB and
 * are hashed on every append, so whole chunks that are known not to be the
 * last are hashed LANES at a time, one chunk per lane of a GCC/Clang vector
 * (hash_chunks_wide; the same compression, word for word, on LANES chunks at
 * once, which the compiler maps to SIMD registers). Compilers without vector
 * extensions take the one-chunk path. The official vectors cover both.
 */
#include "content_id.h"

#include <string.h>

#define BLOCK_LEN 64
#define CHUNK_LEN 1024

enum blake3_flag { CHUNK_START = 1u << 0, CHUNK_END = 1u << 1, PARENT = 1u << 2, ROOT = 1u << 3 };

/* The SHA-256 initial words; in hash mode they are also the key. */
static const uint32_t IV[8] = {0x6A09E667u, 0xBB67AE85u, 0x3C6EF372u, 0xA54FF53Au,
                               0x510E527Fu, 0x9B05688Cu, 0x1F83D9ABu, 0x5BE0CD19u};

/* The message word order of round r+1, given the order of round r. */
static const uint8_t MSG_PERMUTATION[16] = {2, 6, 3, 10, 7, 0, 4, 13, 1, 11, 12, 5, 9, 14, 15, 8};

static uint32_t rotr32(uint32_t x, unsigned n)
{
    return (x >> n) | (x << (32 - n));
}

/* Byte order is fixed little-endian by the spec, whatever the host is. */
static uint32_t load32_le(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void store32_le(uint8_t *p, uint32_t x)
{
    p[0] = (uint8_t)x;
    p[1] = (uint8_t)(x >> 8);
    p[2] = (uint8_t)(x >> 16);
    p[3] = (uint8_t)(x >> 24);
}

/* The quarter-round: mixes two message words into one column or diagonal. */
static void g(uint32_t s[16], int a, int b, int c, int d, uint32_t mx, uint32_t my)
{
    s[a] = s[a] + s[b] + mx;
    s[d] = rotr32(s[d] ^ s[a], 16);
    s[c] = s[c] + s[d];
    s[b] = rotr32(s[b] ^ s[c], 12);
    s[a] = s[a] + s[b] + my;
    s[d] = rotr32(s[d] ^ s[a], 8);
    s[c] = s[c] + s[d];
    s[b] = rotr32(s[b] ^ s[c], 7);
}

/* One round: the four columns of the 4x4 state, then the four diagonals. */
static void round_fn(uint32_t s[16], const uint32_t m[16])
{
    g(s, 0, 4, 8, 12, m[0], m[1]);
    g(s, 1, 5, 9, 13, m[2], m[3]);
    g(s, 2, 6, 10, 14, m[4], m[5]);
    g(s, 3, 7, 11, 15, m[6], m[7]);
    g(s, 0, 5, 10, 15, m[8], m[9]);
    g(s, 1, 6, 11, 12, m[10], m[11]);
    g(s, 2, 7, 8, 13, m[12], m[13]);
    g(s, 3, 4, 9, 14, m[14], m[15]);
}

static void permute(uint32_t m[16])
{
    uint32_t next[16];
    for (int i = 0; i < 16; i++)
        next[i] = m[MSG_PERMUTATION[i]];
    memcpy(m, next, sizeof next);
}

/*
 * The compression function. Writes the first 8 output words, which are both
 * the next chaining value and (with ROOT) the 32-byte digest; the other 8
 * only matter for extended output, which tstable does not use.
 */
static void compress(const uint32_t cv[8], const uint32_t block[16], uint64_t counter,
                     uint32_t block_len, uint32_t flags, uint32_t out[8])
{
    uint32_t s[16];
    memcpy(s, cv, 8 * sizeof(uint32_t));
    memcpy(s + 8, IV, 4 * sizeof(uint32_t));
    s[12] = (uint32_t)counter;
    s[13] = (uint32_t)(counter >> 32);
    s[14] = block_len;
    s[15] = flags;
    uint32_t m[16];
    memcpy(m, block, sizeof m);
    for (int r = 0; r < 7; r++) {
        round_fn(s, m);
        if (r < 6)
            permute(m);
    }
    for (int i = 0; i < 8; i++)
        out[i] = s[i] ^ s[i + 8];
}

/* A partial final block is zero-padded; block_len tells the hash how much was real. */
static void block_words(const uint8_t *bytes, size_t len, uint32_t words[16])
{
    uint8_t padded[BLOCK_LEN] = {0};
    memcpy(padded, bytes, len);
    for (int i = 0; i < 16; i++)
        words[i] = load32_le(padded + 4 * i);
}

/*
 * A node whose last compression is still pending: either the current chunk's
 * final block or a parent. Holding it lets final() add ROOT to the right one.
 */
typedef struct pending_node {
    uint32_t cv[8];
    uint32_t block[16];
    uint64_t counter;
    uint32_t block_len;
    uint32_t flags;
} pending_node;

static void node_cv(const pending_node *n, uint32_t out[8])
{
    compress(n->cv, n->block, n->counter, n->block_len, n->flags, out);
}

/* Parents always use the key (here the IV) as their input value, counter 0. */
static void parent_node(const uint32_t left[8], const uint32_t right[8], pending_node *out)
{
    memcpy(out->cv, IV, sizeof out->cv);
    memcpy(out->block, left, 8 * sizeof(uint32_t));
    memcpy(out->block + 8, right, 8 * sizeof(uint32_t));
    out->counter = 0;
    out->block_len = BLOCK_LEN;
    out->flags = PARENT;
}

/* ---- the chunk being filled ---------------------------------------------- */

static size_t chunk_len(const tst_blake3_hasher *h)
{
    return h->blocks_compressed * BLOCK_LEN + h->block_len;
}

static uint32_t chunk_start_flag(const tst_blake3_hasher *h)
{
    return h->blocks_compressed == 0 ? CHUNK_START : 0;
}

static void chunk_reset(tst_blake3_hasher *h, uint64_t counter)
{
    memcpy(h->chunk_cv, IV, sizeof h->chunk_cv);
    h->chunk_counter = counter;
    memset(h->block, 0, sizeof h->block);
    h->block_len = 0;
    h->blocks_compressed = 0;
}

/* The chunk's final block, not yet compressed: it still needs CHUNK_END (and maybe ROOT). */
static void chunk_node(const tst_blake3_hasher *h, pending_node *out)
{
    memcpy(out->cv, h->chunk_cv, sizeof out->cv);
    block_words(h->block, h->block_len, out->block);
    out->counter = h->chunk_counter;
    out->block_len = (uint32_t)h->block_len;
    out->flags = chunk_start_flag(h) | CHUNK_END;
}

/* Feeds bytes into the current chunk; the caller keeps it within CHUNK_LEN. */
static void chunk_update(tst_blake3_hasher *h, const uint8_t *bytes, size_t len)
{
    while (len > 0) {
        /* Compress a full block only once more input proves it is not the last. */
        if (h->block_len == BLOCK_LEN) {
            uint32_t words[16];
            block_words(h->block, BLOCK_LEN, words);
            compress(h->chunk_cv, words, h->chunk_counter, BLOCK_LEN, chunk_start_flag(h),
                     h->chunk_cv);
            h->blocks_compressed++;
            h->block_len = 0;
        }
        size_t take = BLOCK_LEN - h->block_len;
        if (take > len)
            take = len;
        memcpy(h->block + h->block_len, bytes, take);
        h->block_len += take;
        bytes += take;
        len -= take;
    }
}

/* ---- the Merkle tree ------------------------------------------------------ */

/*
 * Pushes the chaining value of a completed chunk, the total_chunks-th. Each
 * trailing zero bit of total_chunks means a left subtree of that size is now
 * complete and has a right sibling of equal size: merge them into a parent.
 */
static void push_chunk_cv(tst_blake3_hasher *h, const uint32_t cv[8], uint64_t total_chunks)
{
    uint32_t merged[8];
    memcpy(merged, cv, sizeof merged);
    while ((total_chunks & 1) == 0) {
        pending_node parent;
        h->cv_stack_len--;
        parent_node(h->cv_stack[h->cv_stack_len], merged, &parent);
        node_cv(&parent, merged);
        total_chunks >>= 1;
    }
    memcpy(h->cv_stack[h->cv_stack_len], merged, sizeof merged);
    h->cv_stack_len++;
}

/* ---- whole chunks, LANES at a time ---------------------------------------- */

#if defined(__GNUC__) || defined(__clang__)
#define LANES 4
typedef uint32_t lanes_u32 __attribute__((vector_size(4 * LANES)));

static lanes_u32 rotr_lanes(lanes_u32 x, unsigned n)
{
    return (x >> n) | (x << (32 - n));
}

static lanes_u32 splat(uint32_t x)
{
    lanes_u32 v;
    for (int k = 0; k < LANES; k++)
        v[k] = x;
    return v;
}

static void g_lanes(lanes_u32 s[16], int a, int b, int c, int d, lanes_u32 mx, lanes_u32 my)
{
    s[a] = s[a] + s[b] + mx;
    s[d] = rotr_lanes(s[d] ^ s[a], 16);
    s[c] = s[c] + s[d];
    s[b] = rotr_lanes(s[b] ^ s[c], 12);
    s[a] = s[a] + s[b] + my;
    s[d] = rotr_lanes(s[d] ^ s[a], 8);
    s[c] = s[c] + s[d];
    s[b] = rotr_lanes(s[b] ^ s[c], 7);
}

/*
 * The chaining values of LANES consecutive whole chunks starting at bytes,
 * the first numbered counter: compress() applied block by block to each
 * chunk, lane k holding chunk k.
 */
static void hash_chunks_wide(const uint8_t *bytes, uint64_t counter, uint32_t out[LANES][8])
{
    lanes_u32 cv[8], lo, hi;
    for (int i = 0; i < 8; i++)
        cv[i] = splat(IV[i]);
    for (int k = 0; k < LANES; k++) {
        lo[k] = (uint32_t)(counter + (uint64_t)k);
        hi[k] = (uint32_t)((counter + (uint64_t)k) >> 32);
    }
    for (int b = 0; b < CHUNK_LEN / BLOCK_LEN; b++) {
        lanes_u32 m[16], s[16];
        for (int w = 0; w < 16; w++)
            for (int k = 0; k < LANES; k++)
                m[w][k] = load32_le(bytes + (size_t)k * CHUNK_LEN + (size_t)b * BLOCK_LEN + 4 * w);
        uint32_t flags = (b == 0 ? CHUNK_START : 0) | (b == CHUNK_LEN / BLOCK_LEN - 1 ? CHUNK_END : 0);
        for (int i = 0; i < 8; i++)
            s[i] = cv[i];
        for (int i = 0; i < 4; i++)
            s[8 + i] = splat(IV[i]);
        s[12] = lo;
        s[13] = hi;
        s[14] = splat(BLOCK_LEN);
        s[15] = splat(flags);
        for (int r = 0; r < 7; r++) {
            g_lanes(s, 0, 4, 8, 12, m[0], m[1]);
            g_lanes(s, 1, 5, 9, 13, m[2], m[3]);
            g_lanes(s, 2, 6, 10, 14, m[4], m[5]);
            g_lanes(s, 3, 7, 11, 15, m[6], m[7]);
            g_lanes(s, 0, 5, 10, 15, m[8], m[9]);
            g_lanes(s, 1, 6, 11, 12, m[10], m[11]);
            g_lanes(s, 2, 7, 8, 13, m[12], m[13]);
            g_lanes(s, 3, 4, 9, 14, m[14], m[15]);
            if (r < 6) {
                lanes_u32 next[16];
                for (int i = 0; i < 16; i++)
                    next[i] = m[MSG_PERMUTATION[i]];
                memcpy(m, next, sizeof next);
            }
        }
        for (int i = 0; i < 8; i++)
            cv[i] = s[i] ^ s[i + 8];
    }
    for (int k = 0; k < LANES; k++)
        for (int i = 0; i < 8; i++)
            out[k][i] = cv[i][k];
}
#endif

void tst_blake3_init(tst_blake3_hasher *h)
{
    memset(h, 0, sizeof *h);
    chunk_reset(h, 0);
}

void tst_blake3_update(tst_blake3_hasher *h, const void *bytes, size_t len)
{
    const uint8_t *p = bytes;
    while (len > 0) {
        /* A full chunk is finished only now that we know another one follows. */
        if (chunk_len(h) == CHUNK_LEN) {
            pending_node last;
            uint32_t cv[8];
            chunk_node(h, &last);
            node_cv(&last, cv);
            uint64_t total_chunks = h->chunk_counter + 1;
            push_chunk_cv(h, cv, total_chunks);
            chunk_reset(h, total_chunks);
        }
#ifdef LANES
        /* Whole chunks with input after them are never the last: LANES at once. */
        while (chunk_len(h) == 0 && len > (size_t)LANES * CHUNK_LEN) {
            uint32_t cvs[LANES][8];
            hash_chunks_wide(p, h->chunk_counter, cvs);
            for (int k = 0; k < LANES; k++)
                push_chunk_cv(h, cvs[k], h->chunk_counter + (uint64_t)k + 1);
            chunk_reset(h, h->chunk_counter + LANES);
            p += (size_t)LANES * CHUNK_LEN;
            len -= (size_t)LANES * CHUNK_LEN;
        }
#endif
        size_t take = CHUNK_LEN - chunk_len(h);
        if (take > len)
            take = len;
        chunk_update(h, p, take);
        p += take;
        len -= take;
    }
}

/*
 * Folds the stack into the held-back last chunk, right to left: the stack's
 * subtrees are all complete and sit to the left of everything after them.
 * Whatever node is left at the top is the root.
 */
void tst_blake3_final(const tst_blake3_hasher *h, uint8_t out[32])
{
    pending_node node;
    chunk_node(h, &node);
    for (size_t i = h->cv_stack_len; i > 0; i--) {
        uint32_t right[8];
        node_cv(&node, right);
        parent_node(h->cv_stack[i - 1], right, &node);
    }
    /* The root's output block counter is 0 for the first 32 bytes of output. */
    uint32_t words[8];
    compress(node.cv, node.block, 0, node.block_len, node.flags | ROOT, words);
    for (int i = 0; i < 8; i++)
        store32_le(out + 4 * i, words[i]);
}

void tst_blake3(const void *bytes, size_t len, uint8_t out[32])
{
    tst_blake3_hasher h;
    tst_blake3_init(&h);
    tst_blake3_update(&h, bytes, len);
    tst_blake3_final(&h, out);
}
