/* Batch-1 decode-step kernels for --half on AVX512-BF16 CPUs; bf16 in and out, float32 inside.
 *
 * A decode step multiplies one row by every weight of the network, so it takes as long as reading them.
 * bark_gemv_bf16 reads the buffer torch.ops.mkldnn._reorder_linear_weight(weight, 1) made for AMX:
 * blocks of 64 outputs, each [K / 32][16 pairs of k][64 outputs][2 k], outputs padded up to a multiple of
 * 64. One _mm512_dpbf16_ps multiplies 16 outputs' pairs of weights by the broadcast pair of x, so each
 * block is read once, front to back, with no horizontal sums. Python checks the layout before using it.
 *
 * bark_block_bf16 runs a whole GPT block for one position (layer norms, attention over the KV cache,
 * MLP, residuals) in one call, rounding to bf16 where torch's bf16 ops round. Python's per-op dispatch
 * then no longer costs more than the block's own work.
 */
#include <immintrin.h>
#include <math.h>
#include <stdint.h>

/* exp(z) for z <= 0, to about 1e-7: 2^n * exp(f), n = round(z / ln 2), |f| <= ln 2 / 2. */
static inline __m512 exp_neg_ps(__m512 z) {
    z = _mm512_max_ps(z, _mm512_set1_ps(-100.0f));  /* scalef takes 2^-145 to 0 */
    const __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(z, _mm512_set1_ps(1.44269504f)), _MM_FROUND_TO_NEAREST_INT);
    __m512 f = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693145752f), z);
    f = _mm512_fnmadd_ps(n, _mm512_set1_ps(1.42860677e-6f), f);
    __m512 e = _mm512_set1_ps(1.0f / 720);
    e = _mm512_fmadd_ps(e, f, _mm512_set1_ps(1.0f / 120));
    e = _mm512_fmadd_ps(e, f, _mm512_set1_ps(1.0f / 24));
    e = _mm512_fmadd_ps(e, f, _mm512_set1_ps(1.0f / 6));
    e = _mm512_fmadd_ps(e, f, _mm512_set1_ps(0.5f));
    e = _mm512_fmadd_ps(e, f, _mm512_set1_ps(1.0f));
    e = _mm512_fmadd_ps(e, f, _mm512_set1_ps(1.0f));
    return _mm512_scalef_ps(e, n);
}

/* erf(x) to about 1e-7 (Abramowitz and Stegun 7.1.26). */
static inline __m512 erf_ps(__m512 x) {
    const __m512 ax = _mm512_abs_ps(x);
    const __m512 t = _mm512_div_ps(_mm512_set1_ps(1.0f), _mm512_fmadd_ps(_mm512_set1_ps(0.3275911f), ax, _mm512_set1_ps(1.0f)));
    __m512 r = _mm512_set1_ps(1.061405429f);
    r = _mm512_fmadd_ps(r, t, _mm512_set1_ps(-1.453152027f));
    r = _mm512_fmadd_ps(r, t, _mm512_set1_ps(1.421413741f));
    r = _mm512_fmadd_ps(r, t, _mm512_set1_ps(-0.284496736f));
    r = _mm512_fmadd_ps(r, t, _mm512_set1_ps(0.254829592f));
    r = _mm512_mul_ps(r, t);
    const __m512 y = _mm512_fnmadd_ps(r, exp_neg_ps(_mm512_mul_ps(_mm512_sub_ps(_mm512_setzero_ps(), ax), ax)), _mm512_set1_ps(1.0f));
    return _mm512_castsi512_ps(_mm512_or_si512(_mm512_castps_si512(y),  /* erf(-x) = -erf(x) */
        _mm512_and_si512(_mm512_castps_si512(x), _mm512_set1_epi32((int)0x80000000u))));
}

static inline __m512 gelu_ps(__m512 v) {  /* exact GELU: v * (1 + erf(v / sqrt 2)) / 2 */
    const __m512 half_v = _mm512_mul_ps(v, _mm512_set1_ps(0.5f));
    return _mm512_fmadd_ps(half_v, erf_ps(_mm512_mul_ps(v, _mm512_set1_ps(0.70710678f))), half_v);
}

static inline __m512 load_bf16x16(const uint16_t *p) {
    return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(_mm256_loadu_si256((const __m256i *)p)), 16));
}

static inline void store_bf16x16(uint16_t *p, __m512 v) {  /* round to nearest even, as torch does */
    _mm256_storeu_si256((__m256i *)p, (__m256i)_mm512_cvtneps_pbh(v));
}

/* gelu: 0 for none, 1 for exact GELU. bias may be NULL. K must be a multiple of 32. */
void bark_gemv_bf16(const uint16_t *x, const uint16_t *w, const uint16_t *bias, uint16_t *y,
                    int64_t N, int64_t K, int gelu) {
    const int64_t blocks = (N + 63) / 64, pairs = K / 2;
    #pragma omp parallel for schedule(static)
    for (int64_t b = 0; b < blocks; b++) {
        const uint16_t *wb = w + b * 64 * K;  /* this block: (K / 2) pairs x 64 outputs x 2 */
        __m512 acc[8];
        for (int i = 0; i < 8; i++) acc[i] = _mm512_setzero_ps();
        for (int64_t p = 0; p < pairs; p += 2) {  /* two pairs at a time, into two sets of sums: K / 2 is even */
            const uint16_t *q = wb + p * 128;
            for (int i = 0; i < 4; i++) _mm_prefetch((const char *)(q + 1024 + 32 * i), _MM_HINT_T0);
            const __m512bh x0 = (__m512bh)_mm512_set1_epi32(*(const int32_t *)(x + 2 * p));
            const __m512bh x1 = (__m512bh)_mm512_set1_epi32(*(const int32_t *)(x + 2 * p + 2));
            for (int i = 0; i < 4; i++) {
                acc[i] = _mm512_dpbf16_ps(acc[i], (__m512bh)_mm512_loadu_si512(q + 32 * i), x0);
                acc[4 + i] = _mm512_dpbf16_ps(acc[4 + i], (__m512bh)_mm512_loadu_si512(q + 128 + 32 * i), x1);
            }
        }
        for (int i = 0; i < 4; i++) {
            const int64_t n0 = b * 64 + 16 * i;
            if (n0 >= N) break;
            const int64_t valid = N - n0 < 16 ? N - n0 : 16;
            const __mmask16 keep = (__mmask16)((1u << valid) - 1);
            __m512 v = _mm512_add_ps(acc[i], acc[4 + i]);
            if (bias) v = _mm512_add_ps(v, _mm512_castsi512_ps(_mm512_slli_epi32(
                _mm512_cvtepu16_epi32(_mm256_maskz_loadu_epi16(keep, bias + n0)), 16)));
            if (gelu) v = gelu_ps(v);
            _mm256_mask_storeu_epi16(y + n0, keep, (__m256i)_mm512_cvtneps_pbh(v));
        }
    }
}

/* y = LayerNorm(x) over C (a multiple of 16); statistics in float32, as torch computes them for bf16. */
static void layer_norm(const uint16_t *x, const uint16_t *w, const uint16_t *b, uint16_t *y, int64_t C, float eps) {
    __m512 s = _mm512_setzero_ps();
    for (int64_t i = 0; i < C; i += 16) s = _mm512_add_ps(s, load_bf16x16(x + i));
    const float mean = _mm512_reduce_add_ps(s) / C;
    __m512 q = _mm512_setzero_ps();
    for (int64_t i = 0; i < C; i += 16) {
        const __m512 d = _mm512_sub_ps(load_bf16x16(x + i), _mm512_set1_ps(mean));
        q = _mm512_fmadd_ps(d, d, q);
    }
    const __m512 rstd = _mm512_set1_ps(1.0f / sqrtf(_mm512_reduce_add_ps(q) / C + eps));
    for (int64_t i = 0; i < C; i += 16) {
        __m512 v = _mm512_mul_ps(_mm512_mul_ps(_mm512_sub_ps(load_bf16x16(x + i), _mm512_set1_ps(mean)), rstd), load_bf16x16(w + i));
        if (b) v = _mm512_add_ps(v, load_bf16x16(b + i));
        store_bf16x16(y + i, v);
    }
}

/* x += y over C, rounded to bf16. */
static void add_into(uint16_t *x, const uint16_t *y, int64_t C) {
    for (int64_t i = 0; i < C; i += 16) store_bf16x16(x + i, _mm512_add_ps(load_bf16x16(x + i), load_bf16x16(y + i)));
}

/* One query per head over cached positions [start, pos]. qkv: (3, nh, hs) for the new position, whose key
 * and value are written to the cache first. kv: this layer's (2, nh, capacity, hs). out: (nh, hs).
 * scores: nh * capacity floats. hs is a multiple of 16. */
static void attention(const uint16_t *qkv, uint16_t *kv, uint16_t *out, float *scores,
                      int64_t nh, int64_t hs, int64_t capacity, int64_t start, int64_t pos) {
    const int64_t C = nh * hs;
    const float scale = 1.0f / sqrtf((float)hs);
    #pragma omp parallel for schedule(static)
    for (int64_t h = 0; h < nh; h++) {
        uint16_t *keys = kv + h * capacity * hs, *values = kv + (nh + h) * capacity * hs;
        for (int64_t i = 0; i < hs; i++) {
            keys[pos * hs + i] = qkv[C + h * hs + i];
            values[pos * hs + i] = qkv[2 * C + h * hs + i];
        }
        float *s = scores + h * capacity;
        float best = -INFINITY;
        for (int64_t j = start; j <= pos; j++) {
            __m512 d = _mm512_setzero_ps();
            for (int64_t i = 0; i < hs; i += 16)
                d = _mm512_fmadd_ps(load_bf16x16(qkv + h * hs + i), load_bf16x16(keys + j * hs + i), d);
            s[j] = _mm512_reduce_add_ps(d) * scale;
            if (s[j] > best) best = s[j];
        }
        __m512 total = _mm512_setzero_ps();
        int64_t j = start;
        for (; j + 16 <= pos + 1; j += 16) {
            const __m512 e = exp_neg_ps(_mm512_sub_ps(_mm512_loadu_ps(s + j), _mm512_set1_ps(best)));
            _mm512_storeu_ps(s + j, e);
            total = _mm512_add_ps(total, e);
        }
        float sum = _mm512_reduce_add_ps(total);
        for (; j <= pos; j++) { s[j] = expf(s[j] - best); sum += s[j]; }
        __m512 acc[16];  /* hs / 16 <= 16: heads of up to 256 */
        for (int64_t i = 0; i < hs / 16; i++) acc[i] = _mm512_setzero_ps();
        for (j = start; j <= pos; j++) {
            const __m512 p = _mm512_set1_ps(s[j]);
            for (int64_t i = 0; i < hs / 16; i++) acc[i] = _mm512_fmadd_ps(p, load_bf16x16(values + j * hs + i * 16), acc[i]);
        }
        for (int64_t i = 0; i < hs / 16; i++) store_bf16x16(out + h * hs + i * 16, _mm512_mul_ps(acc[i], _mm512_set1_ps(1.0f / sum)));
    }
}

/* A block's weights, filled once by Python. Linear weights are oneDNN-packed (see bark_gemv_bf16); every
 * bias may be NULL. */
typedef struct {
    const uint16_t *ln1_w, *ln1_b, *attn_w, *attn_b, *attn_out_w, *attn_out_b;
    const uint16_t *ln2_w, *ln2_b, *mlp_in_w, *mlp_in_b, *mlp_out_w, *mlp_out_b;
    int64_t n_embd, n_head;
    float eps;
} bark_block;

/* x (C,) <- block(x) for the position pos, whose key and value go to kv (this layer's (2, nh, capacity,
 * hs)); keys before start are padding. scratch: 9 C bf16 values; scores: nh * capacity floats. */
void bark_block_bf16(const bark_block *blk, uint16_t *x, uint16_t *kv, int64_t capacity, int64_t start,
                     int64_t pos, uint16_t *scratch, float *scores) {
    const int64_t C = blk->n_embd;
    uint16_t *normed = scratch, *qkv = scratch + C, *mixed = scratch + 4 * C, *hidden = scratch + 5 * C;
    layer_norm(x, blk->ln1_w, blk->ln1_b, normed, C, blk->eps);
    bark_gemv_bf16(normed, blk->attn_w, blk->attn_b, qkv, 3 * C, C, 0);
    attention(qkv, kv, mixed, scores, blk->n_head, C / blk->n_head, capacity, start, pos);
    bark_gemv_bf16(mixed, blk->attn_out_w, blk->attn_out_b, normed, C, C, 0);
    add_into(x, normed, C);
    layer_norm(x, blk->ln2_w, blk->ln2_b, normed, C, blk->eps);
    bark_gemv_bf16(normed, blk->mlp_in_w, blk->mlp_in_b, hidden, 4 * C, C, 1);
    bark_gemv_bf16(hidden, blk->mlp_out_w, blk->mlp_out_b, normed, C, 4 * C, 0);
    add_into(x, normed, C);
}
