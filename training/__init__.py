"""training: GRPO training (TRL) of zhongli models, and the tools around it.

``python -m training {grpo,check-data,merge,curves,push,demo}``. Modules:
:mod:`training.grpo` (the command), :mod:`training.grpo_trainer` (TRL config, model, rewards,
trainer), :mod:`training.grpo_data`, :mod:`training.runlog` (run log, ``zhongli_run.json``,
resume point), :mod:`training.distributed` (several processes under ``accelerate launch``),
:mod:`training.checkpoints` (resume from the newest complete checkpoint),
:mod:`training.trajectory` (what a resume must keep; segments), :mod:`training.vllm_colocate`
(``use_vllm`` on vLLM's CPU build),
:mod:`training.check_data`, :mod:`training.merge`, :mod:`training.curves`,
:mod:`training.push`, :mod:`training.demo` (the embedded demo models).

Light on purpose: torch, TRL and vLLM are imported only by the commands that use them.
"""
