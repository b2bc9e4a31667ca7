moved {
  from = openstack_compute_instance_v2.old
  to   = openstack_compute_instance_v2.new
}

import {
  to = openstack_networking_network_v2.existing
  id = "0b6d5c0e-1c1f-4a52-9a43-3e2ab4d0c0de"
}

removed {
  from = openstack_compute_flavor_v2.legacy
  lifecycle {
    destroy = false
  }
}
