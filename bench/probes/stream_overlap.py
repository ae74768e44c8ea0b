"""How much of a memory-bound kernel hides behind a compute-bound GEMM when the two run on separate streams.

Decides whether micro-batch overlap (decode attention of one micro-batch beside the GEMMs of another) can pay on
this GPU before the engine is built for it. Prints, for each pair, the time of each side alone, both launched
together, and the fraction of the shorter side that the overlap hid: (alone_a + alone_b - both) / min(alone).
Run: python bench/probes/stream_overlap.py
"""
import torch
import torch.nn.functional as F

torch.manual_seed(0)
dev = "cuda"
bf = torch.bfloat16


def timed(work, streams, reps=3):
    best = float("inf")
    for _ in range(reps):
        torch.cuda.synchronize()
        start = torch.cuda.Event(enable_timing=True)
        end = torch.cuda.Event(enable_timing=True)
        start.record()
        cur = torch.cuda.current_stream()
        for s in streams:
            s.wait_event(start)
        for fn, s in zip(work, streams):
            with torch.cuda.stream(s):
                fn()
        for s in streams:
            cur.wait_stream(s)
        end.record()
        torch.cuda.synchronize()
        best = min(best, start.elapsed_time(end))
    return best


w_gu = torch.randn(28672, 4096, device=dev, dtype=bf) * 0.02
w_down = torch.randn(4096, 14336, device=dev, dtype=bf) * 0.02
x_pre = torch.randn(2048, 4096, device=dev, dtype=bf)
h_pre = torch.randn(2048, 14336, device=dev, dtype=bf)
x_dec = torch.randn(256, 4096, device=dev, dtype=bf)
h_dec = torch.randn(256, 14336, device=dev, dtype=bf)
kv = torch.randn(1340 * 1024 * 1024 // 2, device=dev, dtype=bf)  # one layer-step of K/V at batch 512, ctx 640
q = torch.randn(256, 32, 1, 128, device=dev, dtype=bf)
k = torch.randn(256, 8, 640, 128, device=dev, dtype=bf)
v = torch.randn(256, 8, 640, 128, device=dev, dtype=bf)

N = 20


def gemm_prefill():
    for _ in range(N):
        torch.mm(x_pre, w_gu.t())
        torch.mm(h_pre, w_down.t())


def gemm_decode():
    for _ in range(N):
        torch.mm(x_dec, w_gu.t())
        torch.mm(h_dec, w_down.t())


def read_kv():
    for _ in range(N):
        kv.sum(dtype=torch.float32)


def sdpa_decode():
    for _ in range(N):
        F.scaled_dot_product_attention(q, k, v, enable_gqa=True)


s1, s2 = torch.cuda.Stream(), torch.cuda.Stream()
for fn in (gemm_prefill, gemm_decode, read_kv, sdpa_decode):
    timed([fn], [s1], reps=1)  # warm-up

pairs = [("prefill GEMMs (m=2048)", gemm_prefill), ("decode GEMMs (m=256)", gemm_decode)]
mems = [("K/V read (1.34 GB sum)", read_kv), ("SDPA decode b256 ctx640", sdpa_decode)]
print(f"device: {torch.cuda.get_device_name()}  torch {torch.__version__}")
for gname, g in pairs:
    for mname, m in mems:
        ta = timed([g], [s1])
        tb = timed([m], [s2])
        tboth = timed([g, m], [s1, s2])
        hidden = (ta + tb - tboth) / min(ta, tb)
        print(f"{gname:24s} {ta:8.2f} ms | {mname:26s} {tb:8.2f} ms | both {tboth:8.2f} ms | "
              f"sum {ta + tb:8.2f} | hidden {hidden * 100:5.1f}% of the shorter")

# One engine step of a staggered schedule, as two lanes: a prefill chunk of 1,024 tokens (its GEMMs) and a decode
# half-batch of 256 sequences at context 640 (its GEMMs and its K/V read, 0.67 GB per layer), over 8 layers.
w_qkv = torch.randn(6144, 4096, device=dev, dtype=bf) * 0.02
w_o = torch.randn(4096, 4096, device=dev, dtype=bf) * 0.02
xp, hp = torch.randn(1024, 4096, device=dev, dtype=bf), torch.randn(1024, 14336, device=dev, dtype=bf)
half_kv = kv[: kv.numel() // 2]


def lane_prefill():
    for _ in range(8):
        torch.mm(xp, w_qkv.t()); torch.mm(xp, w_o.t()); torch.mm(xp, w_gu.t()); torch.mm(hp, w_down.t())


def lane_decode():
    for _ in range(8):
        torch.mm(x_dec, w_qkv.t()); half_kv.sum(dtype=torch.float32); torch.mm(x_dec, w_o.t())
        torch.mm(x_dec, w_gu.t()); torch.mm(h_dec, w_down.t())


hi = torch.cuda.Stream(priority=-1)
tp, td = timed([lane_prefill], [s1]), timed([lane_decode], [s2])
seq = timed([lambda: (lane_prefill(), lane_decode())], [s1])
both = timed([lane_prefill, lane_decode], [s1, s2])
both_hi = timed([lane_prefill, lane_decode], [s1, hi])
print(f"step lanes: prefill {tp:.2f} ms, decode {td:.2f} ms, one stream {seq:.2f} ms, two streams {both:.2f} ms "
      f"({seq / both:.3f}x), decode lane high priority {both_hi:.2f} ms ({seq / both_hi:.3f}x)")
# A pure decode step at batch 512 as it runs now (GEMMs at m=512, then the whole K/V read, per layer) against the same
# step split into two half-batches on two streams: each half re-reads the weights, but one half's K/V read can run
# beside the other's GEMMs.
x_full, h_full = torch.randn(512, 4096, device=dev, dtype=bf), torch.randn(512, 14336, device=dev, dtype=bf)


def decode_full():
    for _ in range(8):
        torch.mm(x_full, w_qkv.t()); kv.sum(dtype=torch.float32); torch.mm(x_full, w_o.t())
        torch.mm(x_full, w_gu.t()); torch.mm(h_full, w_down.t())


full = timed([decode_full], [s1])
halves = timed([lane_decode, lane_decode], [s1, s2])
print(f"decode batch 512: one stream {full:.2f} ms, two half-batch lanes {halves:.2f} ms ({full / halves:.3f}x)")
bytes_kv = kv.numel() * 2 * N
print(f"K/V read alone: {bytes_kv / (timed([read_kv], [s2]) / 1e3) / 1e12:.2f} TB/s")
