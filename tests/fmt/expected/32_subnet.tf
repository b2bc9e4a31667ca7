resource "openstack_networking_subnet_v2" "sub" {
  name            = "sub"
  network_id      = openstack_networking_network_v2.private.id
  cidr            = "10.0.0.0/24"
  ip_version      = 4
  gateway_ip      = "10.0.0.1"
  dns_nameservers = ["8.8.8.8", "8.8.4.4"]
  allocation_pool {
    start = "10.0.0.100"
    end   = "10.0.0.200"
  }
  host_routes {
    destination_cidr = "192.168.0.0/24"
    next_hop         = "10.0.0.254"
  }
}
