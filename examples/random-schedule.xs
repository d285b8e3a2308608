# Question: does the kernel keep every task's registers intact under a
#   random mix of switches, migrations, system calls, interrupts using the
#   FPU, and user writes and reads on three CPUs?
# Answer: yes. After each of the 3000 steps, every running task's
#   observable registers equal its shadow (what its own instructions wrote),
#   and no task ever sees another's values. The schedule comes from the
#   seed: `xstate run --seed N` replays another one, the same seed the same
#   trace. With --policy mutant=shortcut-ignores-last-cpu a seed quickly
#   finds the stale-register bug.
machine cpu=intel-sapphire-rapids cpus=3 seed=1
thread a on cpu0
thread b on cpu1
thread c on cpu2
thread d on cpu0
kthread kw on cpu1
random steps=3000
expect warnings == 0
