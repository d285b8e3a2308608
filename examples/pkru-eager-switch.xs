# Question: (seed 000: PKRU is "user state that affect[s] kernel mode") the
#   kernel runs for the next task right after a context switch -- before it
#   returns to user mode, where the rest of the FPU state is restored. Whose
#   protection keys does a copy_to_user() made there obey?
# Answer: the next task's. Linux keeps PKRU out of the deferred XRSTOR
#   (XFEATURE_MASK_USER_RESTORE) and switches it eagerly in __switch_to()
#   (x86_pkru_load: stash prev's RDPKRU in thread.pkru, WRPKRU next's if it
#   differs); kernel threads and the idle task run with init_pkru. Run this
#   file with --policy mutant=pkru-lazy (PKRU deferred like the rest): line
#   26 fails, a's copy_to_user is checked against b's stale PKRU -- and the
#   other way round (line 32) the kernel would write b's protected page.
machine cpu=intel-icelake-sp cpus=1
thread a on cpu0
thread b
kthread kt

expect a pkru == 0x55555554        # a new process starts with init_pkru
a wrpkru 0x0                       # a opens every key
switch cpu0 to b
expect thread-pkru a == 0x0        # a's value stashed at the switch
b wrpkru 0xc                       # b: key 1 access- and write-disabled
expect b pkru == 0xc

# b is preempted; a runs in the kernel first (it returns from schedule()).
switch cpu0 to a
expect uaccess a write 1 == ok     # a's keys already: key 1 open
expect uaccess a read 1 == ok
a syscall                          # a in user mode, then back in the kernel
expect a pkru == 0x0
switch cpu0 to b
expect thread-pkru b == 0xc
expect uaccess b write 1 == EFAULT # b's keys are in force before b's return
expect uaccess b read 1 == EFAULT
expect uaccess b write 2 == ok

# A kernel thread runs with init_pkru: only key 0 accessible.
switch cpu0 to kt
expect hw cpu0 pkru == 0x55555554
switch cpu0 to b
expect b pkru == 0xc
expect kstat pkru-writes >= 4
expect class pkru == user-affects-kernel
expect config restore & pkru == 0  # never XRSTORed with the task state
