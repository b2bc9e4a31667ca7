resource "openstack_compute_instance_v2" "multi" {
  name = "multi"
  dynamic "network" {
  for_each = var.networks
    content {
    name = network.value
        fixed_ip_v4 = null
    }
  }
}
