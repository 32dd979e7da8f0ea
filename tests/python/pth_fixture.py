"""Writes a torch.save file with the structures augcore must read, or checks one augcore wrote."""
import argparse
import collections
import sys

import torch

# torch 1.13's weights-only unpickler lacks opcodes any float needs (BINFLOAT); from 2.x on
# every read here goes through it (the default since 2.6).
SAFE = {"weights_only": True} if int(torch.__version__.split(".")[0]) >= 2 else {}


def write(path):
    base = torch.arange(12, dtype=torch.float32).reshape(3, 4)
    model = torch.nn.Sequential(torch.nn.Linear(2, 3), torch.nn.BatchNorm1d(3))
    with torch.no_grad():
        model[0].weight.copy_(torch.arange(6, dtype=torch.float32).reshape(3, 2))
    torch.save({
        "model": model.state_dict(),            # OrderedDict with _metadata
        "view": base[1:, 1::2],                  # a strided view sharing storage with "base"
        "base": base,
        "transposed": base.t(),
        "half": torch.tensor([1.5, -2.0], dtype=torch.float16),
        "long": torch.tensor([-(2 ** 40), 7]),
        "flags": torch.tensor([True, False]),
        "epoch": 7,
        "big": 2 ** 40,
        "negative": -300,
        "lr": 0.125,
        "name": "resnet",
        "milestones": [30, 60],
        "betas": (0.9, 0.999),
        "args": argparse.Namespace(lr=0.1),
        "state": {0: {"momentum_buffer": torch.ones(2)}},
        "nothing": None,
        "ordered": collections.OrderedDict([("b", 1), ("a", 2)]),
    }, path)


def check(path):
    d = torch.load(path, **SAFE)
    assert list(d.keys()) == ["model", "epoch", "lr", "name", "flags", "nested", "empty"], d.keys()
    m = d["model"]
    assert torch.equal(m["w"], torch.arange(6, dtype=torch.float32).reshape(2, 3).t()), m["w"]
    assert m["w"].shape == (3, 2)
    assert m["count"].dtype == torch.int64 and int(m["count"]) == 5
    assert d["epoch"] == -3 and d["lr"] == 0.25 and d["name"] == "x"
    assert d["flags"] == [True, False]
    assert d["nested"] == (1, 2 ** 40, "s")
    assert d["empty"] == {}
    lin = torch.nn.Linear(3, 2, bias=False)
    lin.load_state_dict({"weight": m["w"].t().contiguous()}, strict=True)
    print("ok")


def trainer_checkpoint(path):
    """A checkpoint mra_train wrote loads with weights_only=True (torch 2.x): tensors and plain
    values only."""
    d = torch.load(path, **SAFE)
    for key in ("model", "optimizer", "ema", "epoch", "step"):
        assert key in d, (key, list(d.keys()))
    assert isinstance(d["model"]["fc.weight"], torch.Tensor)
    assert d["model"].keys() == d["ema"].keys()
    print("ok: torch", torch.__version__, SAFE, len(d["model"]), "model tensors")


if __name__ == "__main__":
    {"write": write, "check": check, "trainer-checkpoint": trainer_checkpoint}[sys.argv[1]](
        sys.argv[2])
