# Question: PKRU is not restored from the task buffer. Does every path that
#   creates or resets a task still leave the right value in the register --
#   fork, exec, migration, a kernel FPU section, a kernel thread in between?
# Answer: yes, through thread.pkru. fork copies the parent's live register
#   (copy_thread: "tsk->thread.pkru is only valid when scheduled out"), exec
#   writes init_pkru to the register at once (pkru_write_default: the task
#   returns to user mode without a switch), every switch loads the next
#   task's value on whatever CPU it lands, and kernel_fpu_begin() leaves PKRU
#   alone. The buffer's PKRU slot, written by every XSAVES, is never read
#   back: the shadow check compares PKRU too after every step.
machine cpu=intel-sapphire-rapids cpus=2
thread p on cpu0
kthread kt on cpu1

p wrpkru 0x30                      # key 2 closed
fork p as c                        # the child inherits the live register
expect thread-pkru c == 0x30
switch cpu1 to c
expect c pkru == 0x30
c wrpkru 0xc0                      # key 3 closed in the child only
expect p pkru == 0x30

# Migrations: each CPU gets the task's own value at the switch.
migrate p to cpu1                  # c is switched out on cpu1
expect p pkru == 0x30
switch cpu0 to c
expect uaccess c write 3 == EFAULT # c's keys, in the kernel before its return
expect uaccess c write 2 == ok
expect c pkru == 0xc0

# A kernel FPU section in an interrupt does not touch PKRU.
irq cpu0 kfpu
expect c pkru == 0xc0
expect xstate-bv c & pkru == pkru  # saved into the buffer by kernel_fpu_begin ...
c wrpkru 0x3                       # ... and stale from now on: never read back
switch cpu0 to kt
switch cpu0 to c
expect c pkru == 0x3

# exec: init_pkru in the register right away.
exec c
expect c pkru == 0x55555554
expect p pkru == 0x30
