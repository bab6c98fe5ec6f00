#!/usr/bin/env python3
"""PyTorch baseline for petri-bench: the same rows (bench/rows.txt), models and steps.

usage: pytorch.py [--device cpu|cuda] [--threads N] [--steps N] [--warmup N] [--only TEXT]...
                  [--mode train|infer|both]
Prints one JSON object per row on stdout (row, mode, images_per_sec, median_step_ms, steps_ms,
peak_mib) and a last one with "about"; progress goes to stderr. Needs torch and torchvision.
"""
import argparse, json, os, statistics, sys, time

import torch
import torch.nn as nn
import torch.nn.functional as F
import torchvision

HERE = os.path.dirname(os.path.abspath(__file__))


def read_rows():
    rows = []
    for line in open(os.path.join(HERE, "rows.txt")):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        net, channels, size, batch = line.split()
        rows.append((net, int(channels), int(size), int(batch)))
    return rows


def row_name(net, channels, size, batch):
    return f"{net} {channels}x{size}x{size} b{batch}"


def resnet18(channels, classes=9):
    # torchvision topology; conv1 takes the row's channels, as Petri's does.
    m = torchvision.models.resnet18(num_classes=classes)
    if channels != 3:
        m.conv1 = nn.Conv2d(channels, 64, 7, 2, 3, bias=False)
    return m


def double_conv(i, o):
    return nn.Sequential(
        nn.Conv2d(i, o, 3, 1, 1, bias=False), nn.BatchNorm2d(o), nn.ReLU(inplace=True),
        nn.Conv2d(o, o, 3, 1, 1, bias=False), nn.BatchNorm2d(o), nn.ReLU(inplace=True))


class UNet(nn.Module):
    """4 levels, bilinear x2 upsampling (align_corners), batch norm: Petri's U-Net."""

    def __init__(self, cin, classes, base, depth=4):
        super().__init__()
        ch = [base << level for level in range(depth + 1)]
        self.enc = nn.ModuleList([double_conv(cin if l == 0 else ch[l - 1], ch[l]) for l in range(depth + 1)])
        self.dec = nn.ModuleList([double_conv(ch[l + 1] + ch[l], ch[l]) for l in reversed(range(depth))])
        self.head = nn.Conv2d(base, classes, 1)

    def forward(self, x):
        skips = []
        for i, block in enumerate(self.enc):
            if i > 0:
                x = F.max_pool2d(x, 2)
            x = block(x)
            skips.append(x)
        skips.pop()
        for block in self.dec:
            x = F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=True)
            x = block(torch.cat([x, skips.pop()], 1))
        return self.head(x)


def reset_peak(device):
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats()
    else:
        try:
            with open("/proc/self/clear_refs", "w") as f:
                f.write("5")
        except OSError:
            pass


def peak_mib(device):
    if device.type == "cuda":
        return torch.cuda.max_memory_reserved() / 2**20
    try:
        for line in open("/proc/self/status"):
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize()


def timed(device, warmup, steps, step):
    times = []
    for i in range(warmup + steps):
        t = time.perf_counter()
        out = step()
        sync(device)
        dt = time.perf_counter() - t
        if i >= warmup:
            times.append(dt)
    return times, out


def bench_row(row, mode, device, args):
    net, channels, size, batch = row
    torch.manual_seed(0)
    if net == "resnet18":
        model = resnet18(channels)
        classes = 9
        y_shape = (batch,)
    else:
        model = UNet(channels, 4, int(net[len("unet"):]))
        classes = 4
        y_shape = (batch, size, size)
    model = model.to(device)
    x = torch.randn(batch, channels, size, size, device=device)
    y = torch.randint(0, classes, y_shape, device=device)
    reset_peak(device)
    if mode == "train":
        model.train()
        opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)

        def step():
            opt.zero_grad(set_to_none=True)
            loss = F.cross_entropy(model(x), y)
            loss.backward()
            opt.step()
            return loss
    else:
        model.eval()

        def step():
            with torch.inference_mode():
                return model(x).sum()

    times, out = timed(device, args.warmup, args.steps, step)
    median = statistics.median(times)
    result = {
        "row": row_name(*row),
        "mode": mode,
        "images_per_sec": batch / median,
        "median_step_ms": median * 1e3,
        "steps_ms": [round(t * 1e3, 1) for t in times],
        "peak_mib": peak_mib(device),
    }
    if mode == "train":
        result["loss"] = out.item()
    return result


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    p.add_argument("--threads", type=int, default=os.cpu_count())
    p.add_argument("--steps", type=int, default=10)
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--only", action="append", default=[])
    p.add_argument("--mode", default="both", choices=["train", "infer", "both"])
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    if device.type == "cuda":
        if not torch.cuda.is_available():
            sys.exit("pytorch.py: --device cuda but torch sees no GPU")
        torch.backends.cudnn.benchmark = True
    modes = ["train", "infer"] if args.mode == "both" else [args.mode]
    for row in read_rows():
        name = row_name(*row)
        if args.only and not any(o in name for o in args.only):
            continue
        for mode in modes:
            r = bench_row(row, mode, device, args)
            print(json.dumps(r), flush=True)
            print(f"pytorch {name:<22} {mode:<5} {r['images_per_sec']:9.1f} img/s  "
                  f"median {r['median_step_ms']:8.1f} ms  steps {r['steps_ms']}", file=sys.stderr, flush=True)
    what = torch.cuda.get_device_name() + ", cuDNN benchmark on" if device.type == "cuda" else "cpu"
    print(json.dumps({"about": f"torch {torch.__version__} on {what}, {torch.get_num_threads()} threads"}))


if __name__ == "__main__":
    main()
