# Question: a task enters the kernel (system call, interrupt without FPU use,
#   a switch to the idle task and back) and returns to user mode on the same
#   CPU. What does the kernel save and restore?
# Answer: a system call or a plain interrupt saves and restores nothing: the
#   registers stay live and TIF_NEED_FPU_LOAD stays clear. Going idle saves
#   once (switch-out) and the return skips the restore, because the idle task
#   left the registers alone: owner and last_cpu still name the task.
machine cpu=intel-icelake-sp cpus=1
thread t1 on cpu0

t1 write ymm7 = fill:0x5a
counters reset
t1 syscall
irq cpu0
expect saves == 0
expect restores == 0
expect !needs-load t1
expect t1 ymm7 == fill:0x5a
switch cpu0 to idle
switch cpu0 to t1
return cpu0
expect saves == 1
expect restores == 0
expect skipped == 1
expect t1 ymm7 == fill:0x5a
