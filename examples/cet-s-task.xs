# Question: (seed 003) what if CET supervisor state were an ordinary
#   supervisor feature, in every task buffer -- the CET series before
#   XFEATURE_MASK_KERNEL_DYNAMIC ("Remove the kernel dynamic feature from
#   fpu_kernel_cfg.default_features so that the bits in xstate_bv and
#   xcomp_bv are cleared and xsaves/xrstors can be optimized by HW for
#   normal fpstate")?
# Answer: (policy cet-s=task) every task buffer grows by CET_S's 24 bytes
#   (alder-lake-pcore: 856 -> 880 per task, for state no host task uses),
#   every task XSAVES/XRSTORS carries the bit in XCOMP_BV, and nothing is
#   gained: host tasks only ever hold its initial configuration. (On
#   sapphire-rapids the 24 bytes vanish into XTILECFG's 64-byte alignment
#   padding: 2560 bytes either way.)
machine cpu=intel-alder-lake-pcore cpus=1 cet-s=task
thread a on cpu0
thread b

expect class cet_s == supervisor-affects-kernel
expect config default & cet_s == cet_s
expect config default-size == 880
expect config guest-size == 880
expect mem a == 880
a write ymm0 = fill:0x11
switch cpu0 to b
expect xstate-bv a & cet_s == 0              # saved, in its initial state
switch cpu0 to a
expect a ymm0 == fill:0x11
expect hw cpu0 pl0_ssp == 0
