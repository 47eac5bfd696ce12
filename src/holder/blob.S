/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/* The holder program, embedded so ./drip stays one file. */
	.section .rodata
	.balign 16
	.globl drip_holder_start, drip_holder_end
drip_holder_start:
	.incbin HOLDER_PATH
drip_holder_end:
	.section .note.GNU-stack,"",@progbits
