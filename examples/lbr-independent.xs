# Question: LBR state (arch LBR, component 15) is enabled in IA32_XSS like
#   CET or PASID. Is it switched with the task state, and do task switches
#   disturb a profiler's records?
# Answer: neither. LBR is Linux's one "independent" feature: in IA32_XSS but
#   in no task buffer (kernel max, default and guest masks all lack it) and
#   in no user ABI, so the task XSAVES/XRSTORS never name it and a task
#   switch leaves the LBR MSRs exactly as they were. Its user, perf, moves it
#   on its own schedule with XSAVES/XRSTORS of LBR alone into a buffer of its
#   own (576 + 808 -> 1408 bytes): a per-task call-stack event is saved at
#   the switch away from the task and restored at the switch back, on any
#   CPU; a CPU-wide event just keeps recording whoever runs.
machine cpu=intel-alder-lake-pcore cpus=2
thread a on cpu0
thread b on cpu1
thread c

expect class lbr == independent
expect config xss & lbr == lbr
expect config max & lbr == 0
expect config guest & lbr == 0
expect config independent == lbr

# A CPU-wide session on cpu1: task switches and kernel FPU use do not
# touch it.
perf lbr cpu1
b branch 0x400100 0x400200
switch cpu1 to c
c write ymm0 = fill:0x33
c branch 0x500100 0x500200
irq cpu1 kfpu
switch cpu1 to b
expect lbr cpu1 records == 2       # both tasks' branches, in order
expect lbr cpu1 from0 == 0x500100
expect lbr cpu1 from1 == 0x400100
expect kstat indep-saves == 0      # nobody saved LBR for a task switch

# A per-task call-stack event on a: its records follow a, not the CPU.
perf lbr a
a branch 0x401000 0x402000
a branch 0x402010 0x403000
expect lbr cpu0 records == 2
migrate c to cpu0                  # perf saves a's LBR, stops recording
expect lbr cpu0 ctl == 0
c branch 0x600000 0x600100         # not recorded: the event is a's
migrate a to cpu1                  # perf restores a's LBR on cpu1
expect lbr cpu1 from0 == 0x402010
expect lbr cpu1 from1 == 0x401000
expect lbr cpu1 ctl == 0x38000d
expect kstat indep-saves == 1
expect kstat indep-restores == 1
expect mem a == 2264               # 856-byte task buffer + 1408-byte LBR buffer
