// SPDX-License-Identifier: GPL-2.0
/*
 * vfio.c - vfio.ko's exports, while it is loaded (before 5.19 only; built
 * when the iommu_dma_owner feature probe fails, see Kbuild).
 *
 * 5.10 has no query for a group's owner in the iommu core: what bindguard
 * asks, it asks vfio. The functions are resolved without keeping a module
 * reference, so that vfio can be unloaded: claim_vfio.c resolves them when
 * vfio goes live and drops them at its MODULE_STATE_GOING, and no group fd
 * (so no call that needs them) outlives vfio.
 *
 * Whether claim_vfio.c's hooks in vfio.ko are armed is kept here too
 * (bg_vfio_followed()), for the veto: a vfio driver's bind is refused while
 * they are not, so that no group gets a vfio device, and so a claim, that
 * nothing would follow.
 *
 * Lock story: bg_vfio_mutex guards the pointers against vfio's unload for
 * the scans (bg_vfio_bound()); the hooks in vfio.ko's own code read them
 * without it (vfio cannot go while they run). The armed flag is written
 * under claim_vfio.c's arming mutex and read locklessly.
 */
#include <linux/device.h>
#include <linux/lockdep.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/vfio.h>

#include "bindguard.h"

static DEFINE_MUTEX(bg_vfio_mutex);
/* bg_vfio_mutex; READ_ONCE() from the hooks in vfio.ko */
static int (*bg_vfio_group_id_fn)(struct vfio_group *group);
static struct vfio_device *(*bg_vfio_device_get)(struct device *dev);
static void (*bg_vfio_device_put)(struct vfio_device *device);
/* claim_vfio.c's hooks in vfio.ko are armed: its claims are followed */
static bool bg_vfio_hooked;

static void bg_vfio_clear(void)
{
	lockdep_assert_held(&bg_vfio_mutex);
	WRITE_ONCE(bg_vfio_group_id_fn, NULL);
	bg_vfio_device_get = NULL;
	bg_vfio_device_put = NULL;
}

/**
 * bg_vfio_get() - resolve vfio.ko's exports
 *
 * Context: process; takes bg_vfio_mutex.
 * Return: 0, or -ESRCH if vfio is not loaded (nothing resolved).
 */
int bg_vfio_get(void)
{
	int (*group_id)(struct vfio_group *group);
	int ret = 0;

	mutex_lock(&bg_vfio_mutex);
	group_id = symbol_get(vfio_external_user_iommu_id);
	bg_vfio_device_get = symbol_get(vfio_device_get_from_dev);
	bg_vfio_device_put = symbol_get(vfio_device_put);
	if (group_id)
		symbol_put(vfio_external_user_iommu_id);
	if (bg_vfio_device_get)
		symbol_put(vfio_device_get_from_dev);
	if (bg_vfio_device_put)
		symbol_put(vfio_device_put);
	WRITE_ONCE(bg_vfio_group_id_fn, group_id);
	if (!group_id || !bg_vfio_device_get || !bg_vfio_device_put) {
		bg_vfio_clear();
		ret = -ESRCH;
	}
	mutex_unlock(&bg_vfio_mutex);
	return ret;
}

/**
 * bg_vfio_put() - forget vfio.ko's exports (vfio is going)
 *
 * Context: process; takes bg_vfio_mutex.
 */
void bg_vfio_put(void)
{
	mutex_lock(&bg_vfio_mutex);
	bg_vfio_clear();
	mutex_unlock(&bg_vfio_mutex);
}

/**
 * bg_vfio_group_id() - the IOMMU group id of a VFIO group
 * @group: the VFIO group, from a group fd or a vfio call
 *
 * Context: any; in a call into vfio.ko (which keeps it loaded).
 * Return: the id, or -1 if vfio's exports are not resolved.
 */
int bg_vfio_group_id(struct vfio_group *group)
{
	int (*fn)(struct vfio_group *group) = READ_ONCE(bg_vfio_group_id_fn);

	return fn ? fn(group) : -1;
}

/**
 * bg_vfio_bound() - is @dev bound to a vfio driver (registered with vfio)?
 * @dev: a device
 *
 * Context: process; takes bg_vfio_mutex.
 * Return: true if vfio is loaded and knows @dev as a vfio device.
 */
bool bg_vfio_bound(struct device *dev)
{
	struct vfio_device *vdev = NULL;

	mutex_lock(&bg_vfio_mutex);
	if (bg_vfio_device_get)
		vdev = bg_vfio_device_get(dev);
	if (vdev)
		bg_vfio_device_put(vdev);
	mutex_unlock(&bg_vfio_mutex);
	return vdev;
}

/**
 * bg_vfio_set_followed() - record whether the hooks in vfio.ko are armed
 * @followed: true once every hook is armed, false before the first is
 *            disarmed
 *
 * Context: any; the caller serializes arming (claim_vfio.c).
 */
void bg_vfio_set_followed(bool followed)
{
	WRITE_ONCE(bg_vfio_hooked, followed);
}

/**
 * bg_vfio_followed() - would a claim through vfio be seen?
 *
 * A vfio driver can only bind while vfio.ko is loaded (it depends on it).
 * While vfio's hooks are not armed (vfio loaded but arming failed, or not
 * yet armed at its MODULE_STATE_LIVE), the veto refuses such binds: a group
 * without a vfio device cannot be claimed.
 *
 * Context: any, the ftrace callback on really_probe() included.
 * Return: true while the hooks in vfio.ko are armed.
 */
bool bg_vfio_followed(void)
{
	return READ_ONCE(bg_vfio_hooked);
}
