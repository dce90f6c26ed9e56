/*
 * tests/xen/hvm-boot.S: the boot sector of the lab's HVM disk and CD images.
 *
 * The BIOS loads it at 0x7c00 from the first bootable drive of the boot
 * order (a disk's sector 0, or a CD's El Torito no-emulation image) and
 * jumps to it with the drive's number in DL (0x80 for the first disk). It
 * prints on COM1 "XO-HVM-BOOT-OK dl=<DL>", then, scanning PCI bus 0 for an
 * Intel e1000 (8086:100e), "XO-HVM-NIC-OK" or "XO-HVM-NIC-NONE", then
 * "XO-HVM-READY", and halts.
 */
	.code16
	.text
	.globl	_start
_start:
	cli
	xorw	%ax, %ax
	movw	%ax, %ds
	movw	%ax, %es
	movw	%ax, %ss
	movw	$0x7c00, %sp
	ljmp	$0, $start
start:
	movb	%dl, %bh		/* the boot drive, kept in bh */
	movw	$msg_boot, %si
	call	puts
	movb	%bh, %al
	shrb	$4, %al
	call	puthex
	movb	%bh, %al
	call	puthex
	movw	$msg_crlf, %si
	call	puts
	/* PCI bus 0, devices 0-31, function 0: config address 0x80000000 | dev << 11 */
	movl	$0x80000000, %ecx
scan:
	movl	%ecx, %eax
	movw	$0xcf8, %dx
	outl	%eax, %dx
	movw	$0xcfc, %dx
	inl	%dx, %eax
	cmpl	$0x100e8086, %eax
	je	found
	addl	$0x800, %ecx
	cmpl	$0x80010000, %ecx
	jb	scan
	movw	$msg_nonic, %si
	jmp	report
found:
	movw	$msg_nic, %si
report:
	call	puts
	movw	$msg_ready, %si
	call	puts
halt:
	hlt
	jmp	halt

/* puts: the string at si, to COM1 */
puts:
	lodsb
	testb	%al, %al
	jz	1f
	call	putc
	jmp	puts
1:	ret

/* puthex: the low nibble of al as a hex digit */
puthex:
	andb	$0x0f, %al
	addb	$'0', %al
	cmpb	$'9', %al
	jbe	putc
	addb	$('a' - '9' - 1), %al
	/* fall through */
/* putc: al to COM1, once its transmitter holding register is empty */
putc:
	movb	%al, %bl
	movw	$0x3fd, %dx
1:	inb	%dx, %al
	testb	$0x20, %al
	jz	1b
	movw	$0x3f8, %dx
	movb	%bl, %al
	outb	%al, %dx
	ret

msg_boot:	.asciz	"XO-HVM-BOOT-OK dl="
msg_crlf:	.asciz	"\r\n"
msg_nic:	.asciz	"XO-HVM-NIC-OK\r\n"
msg_nonic:	.asciz	"XO-HVM-NIC-NONE\r\n"
msg_ready:	.asciz	"XO-HVM-READY\r\n"

	.org	510
	.byte	0x55, 0xaa
