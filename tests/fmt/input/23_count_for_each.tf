resource "openstack_compute_instance_v2" "web" {
  count = 3
  name = "web-${count.index}"
  image_name = var.image
}

resource "openstack_compute_instance_v2" "app" {
  for_each = toset(["a","b"])
  name = "app-${each.key}"
  flavor_name = each.value == "a" ? "m1.small" : "m1.tiny"
}
