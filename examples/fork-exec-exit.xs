# Question: what register state does a child get at fork and a thread at
#   clone, what does exec leave, and what happens to the buffers at exit?
# Answer: fork/clone copy the parent's LIVE registers (XSAVES straight from
#   the CPU, after loading the parent's state if it was not live) into the
#   child's new buffer; the child starts with TIF_NEED_FPU_LOAD set and no
#   CPU. exec resets every component to its initial state. exit disowns the
#   registers and the switch away frees the buffer.
machine cpu=intel-sapphire-rapids cpus=2
thread parent on cpu0

parent write ymm2 = fill:0x77
parent ldmxcsr 0x1fa0
fork parent as child
clone parent as sibling
expect needs-load child
expect last-cpu child == none
expect mem == 7680
migrate child to cpu1
expect child ymm2 == fill:0x77
expect child mxcsr == 0x1fa0
child write ymm2 = fill:0x88
expect parent ymm2 == fill:0x77
exec child
expect child ymm2 == zero
expect child mxcsr == 0x1f80
exit child
expect state child == exited
expect owner cpu1 == none
expect mem == 5120
switch cpu1 to sibling
expect sibling ymm2 == fill:0x77
# A fork while the parent's registers are not live (a kernel FPU section has
# just used them): the kernel loads the parent's state first, so the child
# copies the parent's values, not the kernel's SIMD scratch.
kfpu cpu0 begin
kfpu cpu0 end
expect needs-load parent
fork parent as child2
expect !needs-load parent
switch cpu1 to child2
expect child2 ymm2 == fill:0x77
