"""A cost model of W2 (512 prompts x 512 tokens, 256 new each) under a vLLM-style scheduler, for planning.

It replays the engine's schedule step by step (token budget, decodes first, prefill chunks filling the rest,
max_num_seqs) and prices each step from kernel rates measured on the H100 (bench/results/2026-12-06-r4.md,
call-b profile): GEMMs at the rate cuBLAS reached, decode attention at the KV bytes over the rate it reached,
element-wise kernels per row, flash prefill per prompt token, the LM head per logits row. It predicts; it measures
nothing. Calibration against r4: the bf16 KV cache comes out at 10,119 tok/s against 9,860 measured (2.6% high);
the FP8 KV cache (--kv-bytes-per-token 65536 --attn-tbps 2.27) at 11,120 against 10,228 (8.7% high).

Scenarios beyond the measured one:
  --lanes    a step's decode rows and prefill rows run as two lanes on two streams; HIDE is the fraction of the
             shorter lane's time the overlap hides (bench/probes/stream_overlap.py measures what the GPU gives);
  --cap P    while at least D sequences decode (--cap-from D), a step takes at most P prefill tokens, spreading the
             prefill across the decode steps so every step has both kinds of work.
Run: python3 bench/probes/w2_model.py [--kv-bytes-per-token 65536 --attn-tbps 3.06] [--lanes --hide 0.5 --cap 1024]
"""
import argparse

p = argparse.ArgumentParser()
p.add_argument("--prompts", type=int, default=512)
p.add_argument("--input-len", type=int, default=512)
p.add_argument("--output-len", type=int, default=256)
p.add_argument("--max-num-seqs", type=int, default=512)
p.add_argument("--max-num-batched-tokens", type=int, default=16384)
p.add_argument("--gemm-tflops", type=float, default=700, help="bf16 GEMM rate at m >= 512 (r4: 663-718)")
p.add_argument("--flops-per-token", type=float, default=13.96e9, help="2 x non-embedding decoder weights (Llama-3.1-8B)")
p.add_argument("--weight-gb", type=float, default=15.0, help="decoder weight bytes read by every GEMM pass")
p.add_argument("--copy-tbps", type=float, default=3.06, help="measured copy bandwidth")
p.add_argument("--kv-bytes-per-token", type=float, default=131072, help="all layers: 32 x 8 heads x 128 x 2 (K,V) x 2 B")
p.add_argument("--attn-tbps", type=float, default=3.06, help="rate decode attention reads the KV cache at")
p.add_argument("--lanes", action="store_true")
p.add_argument("--hide", type=float, default=0.5)
p.add_argument("--cap", type=int, default=0)
p.add_argument("--cap-from", type=int, default=1)
a = p.parse_args()

GEMM_RATE = a.gemm_tflops * 1e12
LM_ROW = 2 * 4096 * 128256 / 530e12  # f32 logits at m=512: 1,016 us per 512 rows (r4)
DECODE_EW_ROW, PREFILL_EW_ROW = 3.0e-6, 2.1e-6  # element-wise kernels per row (r4: ~1.5 ms / 512, 35 ms / 16,384)
FLASH_TOKEN = 20e-3 / 16384  # flash prefill of 512-token prompts (r4: 627 us x 32 per 16,384 tokens)


def gemm(rows):
    """Compute-bound above the balance point, weight-bound below it."""
    return max(rows * a.flops_per_token / GEMM_RATE, a.weight_gb * 1e9 / (a.copy_tbps * 1e12)) if rows else 0.0


def step_time(contexts, prefill_tokens, prefilled_seqs):
    d = len(contexts)
    attention = sum(contexts) * a.kv_bytes_per_token / (a.attn_tbps * 1e12)
    decode_rest = d * (DECODE_EW_ROW + LM_ROW)
    prefill_rest = prefill_tokens * (PREFILL_EW_ROW + FLASH_TOKEN) + prefilled_seqs * LM_ROW
    if not a.lanes or not d or not prefill_tokens:
        return gemm(d + prefill_tokens) + attention + decode_rest + prefill_rest
    decode_lane = gemm(d) + attention + decode_rest
    prefill_lane = gemm(prefill_tokens) + prefill_rest
    # Only the memory-bound attention can run beside the other lane's compute-bound GEMMs.
    return decode_lane + prefill_lane - a.hide * min(attention, prefill_lane)


def simulate():
    waiting = [a.input_len] * a.prompts  # prompt tokens still to prefill, per request, in arrival order
    running = []  # tokens generated so far, per decoding request
    partial = None  # prompt tokens left of the request being chunk-prefilled
    t = 0.0
    steps = 0
    while waiting or running or partial is not None:
        decodes = len(running)
        budget = a.max_num_batched_tokens - decodes
        if a.cap and decodes >= a.cap_from:
            budget = min(budget, a.cap)
        prefill = done = 0
        while budget > 0 and (waiting or partial is not None):
            if partial is None:
                if decodes + done >= a.max_num_seqs:
                    break
                partial = waiting.pop(0)
            take = min(budget, partial)
            partial -= take
            budget -= take
            prefill += take
            if partial == 0:
                done += 1
                partial = None
        t += step_time([a.input_len + g for g in running], prefill, done)
        steps += 1
        running = [g + 1 for g in running if g + 1 < a.output_len] + [1] * done
    return t, steps


seconds, steps = simulate()
out = a.prompts * a.output_len
print(f"{steps} steps, {seconds:.2f} s, {out / seconds:,.0f} output tok/s (model, not a measurement)")
