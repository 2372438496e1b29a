"""Real verl FSDP actor checkpoints of a small model, as `deepmath train` leaves them.

    torchrun --nproc_per_node 2 tests/verl_checkpoints.py MODEL_DIR RUN_DIR STEPS

Shards the model with FSDP2 over gloo (one shard per process), takes one AdamW step on a fixed text
before each save so every step's weights differ, and saves `RUN_DIR/global_step_N/actor` with verl's own
`FSDPCheckpointManager`, the class verl's trainer saves actors with. Rank 0 also writes each step's full
weights to `RUN_DIR/global_step_N/reference.pt`, for comparing a merged model against.
"""

from __future__ import annotations

import sys
from pathlib import Path

TEXT = "The answer is \\boxed{2}."


def save_steps(model_dir: Path, run_dir: Path, steps: int) -> None:
    """Train `steps` AdamW steps on TEXT, saving a verl actor checkpoint after each."""
    import torch
    import torch.distributed as dist
    from omegaconf import OmegaConf
    from torch.distributed.checkpoint.state_dict import StateDictOptions, get_model_state_dict
    from torch.distributed.device_mesh import init_device_mesh
    from torch.distributed.fsdp import fully_shard
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from verl.utils.checkpoint.fsdp_checkpoint_manager import FSDPCheckpointManager

    dist.init_process_group("gloo")
    mesh = init_device_mesh("cpu", (dist.get_world_size(),), mesh_dim_names=("fsdp",))
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32)
    for layer in model.model.layers:
        fully_shard(layer, mesh=mesh)
    fully_shard(model, mesh=mesh)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-2)
    contents = ["model", "optimizer", "extra"]
    manager = FSDPCheckpointManager(
        model,
        optimizer,
        processing_class=tokenizer,
        checkpoint_config=OmegaConf.create({"save_contents": contents, "load_contents": contents}),
    )
    ids = tokenizer(TEXT, return_tensors="pt").input_ids
    for step in range(1, steps + 1):
        model(input_ids=ids, labels=ids).loss.backward()
        optimizer.step()
        optimizer.zero_grad()
        step_dir = run_dir / f"global_step_{step}"
        manager.save_checkpoint(str(step_dir / "actor"), global_step=step)
        full = get_model_state_dict(model, options=StateDictOptions(full_state_dict=True, cpu_offload=True))
        if dist.get_rank() == 0:
            torch.save(full, step_dir / "reference.pt")
        dist.barrier()
    dist.destroy_process_group()


if __name__ == "__main__":
    save_steps(Path(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3]))
