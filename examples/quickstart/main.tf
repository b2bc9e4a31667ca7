# The stack a cloud's seed scripts build by hand: upload an image, make a
# flavor, make a shared network with a subnet, boot a server on it and
# wait for it to be ACTIVE. The provider starts the embedded devcloud, so
# this runs on any machine:
#
#   stackform -chdir=examples/quickstart apply -auto-approve
#
# Point `auth_url` (or OS_CLOUD / clouds.yaml) at a real cloud to build
# the same stack there.

provider "openstack" {
  auth_url = "devcloud://.stackform/devcloud"
}

resource "openstack_images_image_v2" "cirros" {
  name             = "quickstart-cirros"
  local_file_path  = "${path.module}/images/tiny.qcow2"
  container_format = "bare"
  disk_format      = "qcow2"
  visibility       = "public"
  tags             = ["quickstart"]
}

resource "openstack_compute_flavor_v2" "small" {
  name  = "quickstart.small"
  ram   = 512
  vcpus = 1
  disk  = 1
}

resource "openstack_networking_network_v2" "shared" {
  name   = "quickstart-net"
  shared = true
}

resource "openstack_networking_subnet_v2" "shared" {
  name            = "quickstart-subnet"
  network_id      = openstack_networking_network_v2.shared.id
  cidr            = "10.10.0.0/24"
  gateway_ip      = "10.10.0.1"
  dns_nameservers = ["192.0.2.53"]

  allocation_pool {
    start = "10.10.0.100"
    end   = "10.10.0.200"
  }
}

resource "openstack_compute_instance_v2" "web" {
  name      = "quickstart-web"
  image_id  = openstack_images_image_v2.cirros.id
  flavor_id = openstack_compute_flavor_v2.small.id

  network {
    uuid = openstack_networking_network_v2.shared.id
  }

  # The server's port needs an address from the subnet.
  depends_on = [openstack_networking_subnet_v2.shared]
}

output "server_id" {
  value = openstack_compute_instance_v2.web.id
}

output "server_address" {
  value = openstack_compute_instance_v2.web.network[0].fixed_ip_v4
}
