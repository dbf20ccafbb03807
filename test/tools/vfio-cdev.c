// SPDX-License-Identifier: GPL-2.0
/*
 * vfio-cdev - a VFIO client of the device cdev and iommufd (6.6+: what
 * QEMU's -object iommufd does): takes one device for userspace, then holds
 * it until killed.
 *
 *   vfio-cdev [-n NAME] BDF
 *
 * Finds the device's cdev (/sys/bus/pci/devices/BDF/vfio-dev/vfioN), opens
 * /dev/vfio/devices/vfioN and /dev/iommu, binds the device to the iommufd
 * (VFIO_DEVICE_BIND_IOMMUFD: the kernel claims DMA ownership of the
 * device's group here, iommufd_device_bind() ->
 * iommu_device_claim_dma_owner()), allocates an IOAS (IOMMU_IOAS_ALLOC) and
 * attaches the device to it (VFIO_DEVICE_ATTACH_IOMMUFD_PT). Prints
 * "holding BDF pid PID" once it holds, then sleeps; the kernel releases the
 * claim when the device fd is closed (the process killed). Exits 1 naming
 * the step that failed ("vfio-cdev: bind: Device or resource busy").
 *
 *   -n NAME  set the process's comm to NAME first (prctl(PR_SET_NAME))
 *
 * The uapi is spelled out here: the host's linux-libc-dev (6.1) predates
 * it. The values are the kernel's (include/uapi/linux/vfio.h, iommufd.h),
 * a stable ABI.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/types.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <unistd.h>

#define VFIO_TYPE (';')
#define VFIO_BASE 100

struct vfio_device_bind_iommufd {
	__u32 argsz;
	__u32 flags;
	__s32 iommufd;
	__u32 out_devid;
};

#define VFIO_DEVICE_BIND_IOMMUFD _IO(VFIO_TYPE, VFIO_BASE + 18)

struct vfio_device_attach_iommufd_pt {
	__u32 argsz;
	__u32 flags;
	__u32 pt_id;
};

#define VFIO_DEVICE_ATTACH_IOMMUFD_PT _IO(VFIO_TYPE, VFIO_BASE + 19)

#define IOMMUFD_TYPE (';')
#define IOMMUFD_CMD_IOAS_ALLOC 0x81

struct iommu_ioas_alloc {
	__u32 size;
	__u32 flags;
	__u32 out_ioas_id;
};

#define IOMMU_IOAS_ALLOC _IO(IOMMUFD_TYPE, IOMMUFD_CMD_IOAS_ALLOC)

static int fail(const char *step)
{
	printf("vfio-cdev: %s: %s\n", step, strerror(errno));
	return 1;
}

/* The device's cdev name (vfioN) into @name; 0, or -1 with errno set. */
static int cdev_name(const char *bdf, char *name, size_t size)
{
	char path[256];
	struct dirent *e;
	DIR *d;

	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/vfio-dev", bdf);
	d = opendir(path);
	if (!d)
		return -1;
	errno = ENOENT;
	while ((e = readdir(d)))
		if (!strncmp(e->d_name, "vfio", 4)) {
			snprintf(name, size, "%s", e->d_name);
			closedir(d);
			return 0;
		}
	closedir(d);
	return -1;
}

int main(int argc, char **argv)
{
	struct vfio_device_attach_iommufd_pt attach = { .argsz = sizeof(attach) };
	struct vfio_device_bind_iommufd bind = { .argsz = sizeof(bind) };
	struct iommu_ioas_alloc ioas = { .size = sizeof(ioas) };
	char name[256], path[300];
	int opt, dev, iommufd;

	while ((opt = getopt(argc, argv, "n:")) != -1) {
		if (opt != 'n')
			goto usage;
		if (prctl(PR_SET_NAME, optarg))
			return fail("prctl");
	}
	if (optind != argc - 1)
		goto usage;
	setvbuf(stdout, NULL, _IOLBF, 0);

	if (cdev_name(argv[optind], name, sizeof(name)))
		return fail("no vfio-dev/vfioN (is the device on vfio-pci, VFIO_DEVICE_CDEV on?)");
	snprintf(path, sizeof(path), "/dev/vfio/devices/%s", name);
	dev = open(path, O_RDWR);
	if (dev < 0)
		return fail(path);
	iommufd = open("/dev/iommu", O_RDWR);
	if (iommufd < 0)
		return fail("/dev/iommu");
	bind.iommufd = iommufd;
	if (ioctl(dev, VFIO_DEVICE_BIND_IOMMUFD, &bind))
		return fail("bind");
	if (ioctl(iommufd, IOMMU_IOAS_ALLOC, &ioas))
		return fail("ioas");
	attach.pt_id = ioas.out_ioas_id;
	if (ioctl(dev, VFIO_DEVICE_ATTACH_IOMMUFD_PT, &attach))
		return fail("attach");
	printf("holding %s pid %d\n", argv[optind], getpid());
	for (;;)
		pause();
usage:
	fprintf(stderr, "usage: vfio-cdev [-n NAME] BDF\n");
	return 2;
}
