resource "openstack_networking_network_v2" "private" {
  name           = "private"
  admin_state_up = true
  shared         = false
}
