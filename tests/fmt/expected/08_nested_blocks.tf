resource "openstack_compute_instance_v2" "db" {
  name = "db"
  network {
    name        = "private"
    fixed_ip_v4 = "10.0.0.10"
  }
  network {
    uuid = openstack_networking_network_v2.backend.id
  }
  timeouts {
    create = "10m"
    delete = "5m"
  }
}
