"""PyTorch's figures for bench/examples/ops.rs: a network's convolutions (forward, input
gradient, weight gradient through aten::convolution_backward) and max pools, one call at a time
on the CPU, the fastest of --reps calls each. The shapes are ops_resnet.txt, ops_unet.txt or ops_unet64.txt."""
import argparse
import pathlib
import time

import torch


def table(net):
    """The table's batch size and rows (name, count, c_in, c_out, size, kernel, stride, padding)."""
    batch, ops = None, []
    for line in (pathlib.Path(__file__).parent / f"ops_{net}.txt").read_text().splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        if line.startswith("batch "):
            batch = int(line.split()[1])
            continue
        f = [x.strip() for x in line.split("|")]
        ops.append((f[0], *map(int, f[1:])))
    return batch, ops


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
    parser.add_argument("--net", default="resnet", choices=["resnet", "unet", "unet64"])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--reps", type=int, default=20)
    parser.add_argument("--only", default="")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    batch, ops = table(args.net)
    print(f"# pytorch {torch.__version__}, {args.net}, {args.threads} threads, batch {batch}, fastest of {args.reps} calls")
    print("%-18s %8s %8s %8s" % ("op (x count)", "fwd ms", "dx ms", "dw ms"))
    total = [0.0, 0.0, 0.0]
    with torch.no_grad():
        for name, count, c_in, c_out, size, k, stride, pad in ops:
            if args.only not in name:
                continue
            x = torch.relu(torch.rand(batch, c_in, size, size) * 2 - 1)
            if name.startswith("maxpool"):
                pool = fastest(args.reps, lambda: torch.nn.functional.max_pool2d(x, k, stride, pad, return_indices=True))
                print("%-14s x%d %8.3f" % (name, count, pool))
                total[0] += pool * count
                continue
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
    print("%-18s %8.3f %8.3f %8.3f   sum %.3f" % ("network", *total, sum(total)))


if __name__ == "__main__":
    main()
