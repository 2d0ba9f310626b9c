"""Run by tests under torchrun: a tiny data-parallel training on synthetic words."""

import sys
from pathlib import Path

import torch
import torch.distributed as dist

from nepocr_desktop.lib.read.charset import DEFAULT_CHARSET
from nepocr_desktop.lib.read.crnn import ModelSpec
from nepocr_desktop.lib.training.sources import SynthWords
from nepocr_desktop.lib.training.synth import FontSampler, find_fonts
from nepocr_desktop.lib.training.train import TrainConfig, fit, new_model

torch.set_num_threads(1)
out = Path(sys.argv[1])
torch.manual_seed(0)
spec = ModelSpec(height=32, channels=(8, 12, 16, 16), double=(False,) * 4, hidden=16, layers=1, dropout=0.0)
model, info = new_model(DEFAULT_CHARSET, spec)
fonts = [f for f in find_fonts() if "Kalam-Regular" in f.name]
src = SynthWords(["नेपाल", "घर", "पानी"], FontSampler(fonts))
cfg = TrainConfig(out_dir=out, epochs=1, steps_per_epoch=4, batch_size=4, workers=0, export=out / "model.pt",
                  resume=False)
fit(model, info, [(src, 1.0)], [], cfg)
rank = dist.get_rank()
torch.save(model.state_dict(), out / f"rank{rank}.pt")
print(f"rank {rank} of {dist.get_world_size()} done")
dist.destroy_process_group()
