"""Fine-tuning (model/finetune.py): --freeze selects layers by name or prefix; frozen layers
keep their weights and batch-norm statistics through training, the others change."""

import pytest
import torch

from model.finetune import freeze, frozen_layers
from model.nets import RESNET8, TINY


def test_freeze_spec():
    assert frozen_layers(RESNET8, "stem,s1") == ["stem", "s1_conv1", "s1_conv2", "s1_add"]
    assert frozen_layers(RESNET8, "all-but-last")[-1] == "gap"
    assert frozen_layers(TINY, "none") == []
    with pytest.raises(ValueError, match="'s4' names no layer of resnet8"):
        frozen_layers(RESNET8, "s4")


def test_frozen_layers_do_not_move():
    from model.data import load_dataset
    from model.train import build_torch_model, train_model

    ds = load_dataset(None)
    torch.manual_seed(0)
    model = build_torch_model(RESNET8)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    n = freeze(model, RESNET8, frozen_layers(RESNET8, "stem,s1"))
    assert 0 < n < sum(p.numel() for p in model.parameters())
    model, _ = train_model(RESNET8, ds, epochs=1, max_steps=3, model=model, progress=False)
    after = model.state_dict()
    for key in before:
        moved = not torch.equal(before[key], after[key])
        frozen = key.startswith(("mods.stem", "mods.s1_"))
        if key.endswith("num_batches_tracked"):
            continue
        assert moved != frozen, f"{key}: moved={moved}, frozen={frozen}"
