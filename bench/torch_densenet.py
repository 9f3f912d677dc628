"""PyTorch reference for cardlab's benchmarks: the same CIFAR DenseNet-BC, timed on the CPU.

Prints one JSON object per line: {"framework": "pytorch", "depth", "growth", "batch",
"threads", "forwardMs", "trainStepMs" (medians), "forwardRunsMs", "trainStepRunsMs" (each timed run),
"trainableParams"}. Run with Debian's /usr/bin/python3 (package python3-torch). The model follows
torchvision's densenet.py (BN-ReLU-Conv1x1(4k)-BN-ReLU-Conv3x3(k) layers, transitions
BN-ReLU-Conv1x1(θm)-AvgPool2), with the CIFAR stem.
"""
import argparse
import json
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


class DenseLayer(nn.Module):
    def __init__(self, in_ch, growth, bn_size=4):
        super().__init__()
        self.norm1 = nn.BatchNorm2d(in_ch)
        self.conv1 = nn.Conv2d(in_ch, bn_size * growth, 1, bias=False)
        self.norm2 = nn.BatchNorm2d(bn_size * growth)
        self.conv2 = nn.Conv2d(bn_size * growth, growth, 3, padding=1, bias=False)

    def forward(self, features):
        x = torch.cat(features, 1)
        x = self.conv1(F.relu(self.norm1(x)))
        return self.conv2(F.relu(self.norm2(x)))


class DenseBlock(nn.Module):
    def __init__(self, layers, in_ch, growth):
        super().__init__()
        self.layers = nn.ModuleList(DenseLayer(in_ch + i * growth, growth) for i in range(layers))

    def forward(self, x):
        features = [x]
        for layer in self.layers:
            features.append(layer(features))
        return torch.cat(features, 1)


class Transition(nn.Sequential):
    def __init__(self, in_ch, out_ch):
        super().__init__(nn.BatchNorm2d(in_ch), nn.ReLU(), nn.Conv2d(in_ch, out_ch, 1, bias=False), nn.AvgPool2d(2))


def densenet_bc(depth=100, growth=12, compression=0.5, classes=10):
    n = (depth - 4) // 6
    ch = 2 * growth
    mods = [nn.Conv2d(3, ch, 3, padding=1, bias=False)]
    for b in range(3):
        mods.append(DenseBlock(n, ch, growth))
        ch += n * growth
        if b < 2:
            out = int(compression * ch)
            mods.append(Transition(ch, out))
            ch = out
    mods += [nn.BatchNorm2d(ch), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(ch, classes)]
    return nn.Sequential(*mods)


def timed(fn, repeats):
    """Median and list of `repeats` timed runs (ms) after one warm-up run."""
    fn()  # warm-up
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t) * 1000)
    s = sorted(times)
    mid = len(s) // 2
    return (s[mid] if len(s) % 2 else (s[mid - 1] + s[mid]) / 2), times


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--depths", default="100")
    p.add_argument("--growth", type=int, default=12)
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--repeats", type=int, default=3)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    for depth in (int(d) for d in args.depths.split(",")):
        model = densenet_bc(depth, args.growth)
        x = torch.randn(args.batch, 3, 32, 32)
        y = torch.randint(0, 10, (args.batch,))
        opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, nesterov=True, weight_decay=1e-4)

        def forward():
            with torch.no_grad():
                model.eval()
                model(x)

        def train_step():
            model.train()
            opt.zero_grad()
            F.cross_entropy(model(x), y).backward()
            opt.step()

        row = {
            "framework": "pytorch",
            "torch": torch.__version__,
            "depth": depth,
            "growth": args.growth,
            "batch": args.batch,
            "threads": args.threads,
            "trainableParams": sum(q.numel() for q in model.parameters() if q.requires_grad),
        }
        row["forwardMs"], row["forwardRunsMs"] = timed(forward, args.repeats)
        row["trainStepMs"], row["trainStepRunsMs"] = timed(train_step, args.repeats)
        print(json.dumps(row), flush=True)


if __name__ == "__main__":
    sys.exit(main())
