"""PyTorch's figures for bench/examples/resnet_ops.rs: ResNet-18's convolutions (forward,
input gradient, weight gradient through aten::convolution_backward) and its stem max pool,
one call at a time, at 28 px and batch 64 on the CPU, the fastest of --reps calls each."""
import argparse
import pathlib
import time

import torch

# (name, count in the network, c_in, c_out, input size, kernel, stride, padding), shared with
# examples/resnet_ops.rs.
CONVS = [
    (f[0], *map(int, f[1:]))
    for f in (
        [x.strip() for x in line.split("|")]
        for line in (pathlib.Path(__file__).parent / "resnet_ops.txt").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    )
]
BATCH = 64


def fastest(reps, call):
    call()
    best = float("inf")
    for _ in range(reps):
        start = time.perf_counter()
        call()
        best = min(best, time.perf_counter() - start)
    return best * 1e3


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--reps", type=int, default=20)
    parser.add_argument("--only", default="")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    print(f"# pytorch {torch.__version__}, {args.threads} threads, batch {BATCH}, fastest of {args.reps} calls")
    print("%-18s %8s %8s %8s" % ("op (x count)", "fwd ms", "dx ms", "dw ms"))
    total = [0.0, 0.0, 0.0]
    with torch.no_grad():
        for name, count, c_in, c_out, size, k, stride, pad in CONVS:
            if args.only not in name:
                continue
            x = torch.relu(torch.rand(BATCH, c_in, size, size) * 2 - 1)
            w = torch.rand(c_out, c_in, k, k) * 2 - 1
            y = torch.nn.functional.conv2d(x, w, None, stride, pad)
            dy = torch.rand_like(y) * 2 - 1

            def backward(mask):
                return lambda: torch.ops.aten.convolution_backward(
                    dy, x, w, None, [stride] * 2, [pad] * 2, [1, 1], False, [0, 0], 1, mask)

            times = [
                fastest(args.reps, lambda: torch.nn.functional.conv2d(x, w, None, stride, pad)),
                fastest(args.reps, backward([True, False, False])),
                fastest(args.reps, backward([False, True, False])),
            ]
            print("%-14s x%d %8.3f %8.3f %8.3f" % (name, count, *times))
            total = [t + v * count for t, v in zip(total, times)]
        if args.only in "maxpool 3x3/2":
            x = torch.relu(torch.rand(BATCH, 64, 14, 14) * 2 - 1)
            pool = fastest(args.reps, lambda: torch.nn.functional.max_pool2d(x, 3, 2, 1, return_indices=True))
            print("%-18s %8.3f" % ("maxpool 3x3/2", pool))
            total[0] += pool
    print("%-18s %8.3f %8.3f %8.3f   sum %.3f" % ("network", *total, sum(total)))


if __name__ == "__main__":
    main()
