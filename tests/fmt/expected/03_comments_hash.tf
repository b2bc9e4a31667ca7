# The private network
resource "openstack_networking_network_v2" "private" {
  # its name
  name           = "private" # trailing
  shared         = true      # shared with everyone
  admin_state_up = true
}
# after the block
