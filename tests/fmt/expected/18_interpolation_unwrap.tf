resource "openstack_compute_instance_v2" "web" {
  name              = var.name
  image_id          = data.openstack_images_image_v2.cirros.id
  flavor_id         = "${var.flavor}-x"
  key_pair          = var.key
  availability_zone = var.a ? "nova" : "other"
}
