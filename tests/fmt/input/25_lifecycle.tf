resource "openstack_images_image_v2" "cirros" {
  name = "cirros"
  lifecycle {
  prevent_destroy = true
    ignore_changes = [ tags, properties["x"] ]
  create_before_destroy=true
  }
}
