# Question: an interrupt arrives while a user task runs, and its handler uses
#   the FPU (kernel_fpu_begin/end, e.g. crypto). What protects the task?
# Answer: kernel_fpu_begin() saves the task's live registers into its buffer,
#   sets TIF_NEED_FPU_LOAD and clears the CPU's owner; the handler's SIMD code
#   then overwrites vector registers freely. On the return from the interrupt
#   to user mode the kernel restores the task's state -- owner is NULL, so the
#   shortcut cannot skip it. In a kernel thread the same section saves nothing.
#   The mask (387|mxcsr) gives the handler a clean x87 state and MXCSR.
machine cpu=intel-sapphire-rapids cpus=1
thread t1 on cpu0
kthread crypto on cpu0

t1 write zmm20 = seq:0x40
t1 write xmm0 = 0x0123456789abcdef
counters reset
irq cpu0 kfpu
expect saves cpu0 == 1
expect restores cpu0 == 1
expect owner cpu0 == t1
expect t1 zmm20 == seq:0x40
expect t1 xmm0 == 0x0123456789abcdef
# The same work in a kernel thread: no user state to save.
switch cpu0 to crypto
counters reset
kfpu cpu0 begin
expect owner cpu0 == none
expect regs cpu0 zmm_hi256 == kernel
kfpu cpu0 end
expect saves == 0
switch cpu0 to t1
expect t1 zmm20 == seq:0x40
expect restores cpu0 == 1
# The section's mask: the default 387|mxcsr gives the handler FNINIT's x87
# state and MXCSR 0x1f80 whatever the task had (noclobber: the handler
# leaves the vector registers alone); the task's values come back at the
# return to user mode.
t1 write fcw = 0x027f
t1 ldmxcsr 0x1fa0
t1 write xmm1 = fill:0x5c
irq cpu0 enter
kfpu cpu0 begin 387|mxcsr noclobber
expect regs cpu0 x87 == init
expect regs cpu0 sse == nobody   # t1's XMM registers, but MXCSR 0x1f80
kfpu cpu0 end
irq cpu0 exit
expect t1 fcw == 0x027f
expect t1 mxcsr == 0x1fa0
expect t1 xmm1 == fill:0x5c
