// RUN: kiln-opt %s -split-input-file -verify-diagnostics

func.func @bad_broadcast(%a: tensor<2x3xf32>, %b: tensor<4x3xf32>) -> tensor<*xf32> {
  // expected-error @+1 {{operand shapes cannot be broadcast together}}
  %0 = kiln.Add %a, %b : (tensor<2x3xf32>, tensor<4x3xf32>) -> tensor<*xf32>
  return %0 : tensor<*xf32>
}

// -----

func.func @mixed_types(%a: tensor<2xf32>, %b: tensor<2xi64>) -> tensor<*xf32> {
  // expected-error @+1 {{operands must have one element type}}
  %0 = kiln.Mul %a, %b : (tensor<2xf32>, tensor<2xi64>) -> tensor<*xf32>
  return %0 : tensor<*xf32>
}

// -----

func.func @bad_group(%x: tensor<1x4x8x8xf32>, %w: tensor<6x4x3x3xf32>) -> tensor<*xf32> {
  %n = kiln.none
  // expected-error @+1 {{input channels 4 != W channels 4 * group 2}}
  %0 = kiln.Conv %x, %w, %n {group = 2 : si64} : (tensor<1x4x8x8xf32>, tensor<6x4x3x3xf32>, none) -> tensor<*xf32>
  return %0 : tensor<*xf32>
}

// -----

func.func @bad_autopad(%x: tensor<1x1x4x4xf32>) -> tensor<*xf32> {
  // expected-error @+1 {{auto_pad must be NOTSET, SAME_UPPER, SAME_LOWER or VALID}}
  %0 = kiln.MaxPool %x {auto_pad = "SOMETIMES", kernel_shape = [2, 2]} : (tensor<1x1x4x4xf32>) -> tensor<*xf32>
  return %0 : tensor<*xf32>
}

// -----

func.func @bad_axis(%x: tensor<2x3xf32>) -> tensor<*xf32> {
  // expected-error @+1 {{axis 2 is out of range for rank 2}}
  %0 = kiln.Softmax %x {axis = 2 : si64} : (tensor<2x3xf32>) -> tensor<*xf32>
  return %0 : tensor<*xf32>
}

// -----

func.func @training(%x: tensor<2x3xf32>, %p: tensor<3xf32>) -> tensor<*xf32> {
  // expected-error @+1 {{training_mode=1 is not an inference computation}}
  %0 = kiln.BatchNormalization %x, %p, %p, %p, %p {training_mode = 1 : si64} : (tensor<2x3xf32>, tensor<3xf32>, tensor<3xf32>, tensor<3xf32>, tensor<3xf32>) -> tensor<*xf32>
  return %0 : tensor<*xf32>
}

// -----

func.func @scatter_shapes(%d: tensor<3x3xf32>, %i: tensor<2x3xi64>, %u: tensor<2x2xf32>) -> tensor<3x3xf32> {
  // expected-error @+1 {{indices and updates must have the same shape}}
  %0 = kiln.ScatterElements %d, %i, %u : (tensor<3x3xf32>, tensor<2x3xi64>, tensor<2x2xf32>) -> tensor<3x3xf32>
  return %0 : tensor<3x3xf32>
}

// -----

func.func @scatter_reduction(%d: tensor<3xf32>, %i: tensor<1x1xi64>, %u: tensor<1xf32>) -> tensor<3xf32> {
  // expected-error @+1 {{reduction must be none, add, mul, max or min}}
  %0 = kiln.ScatterND %d, %i, %u {reduction = "avg"} : (tensor<3xf32>, tensor<1x1xi64>, tensor<1xf32>) -> tensor<3xf32>
  return %0 : tensor<3xf32>
}

// -----

func.func @grid_mode(%x: tensor<1x1x4x4xf32>, %g: tensor<1x2x2x2xf32>) -> tensor<*xf32> {
  // expected-error @+1 {{mode must be linear, nearest or cubic}}
  %0 = kiln.GridSample %x, %g {mode = "area"} : (tensor<1x1x4x4xf32>, tensor<1x2x2x2xf32>) -> tensor<*xf32>
  return %0 : tensor<*xf32>
}

// -----

func.func @bitcast_width(%x: tensor<4xf32>) -> tensor<4xi64> {
  // expected-error @+1 {{input and result element types must have the same bit width}}
  %0 = kiln.BitCast %x : (tensor<4xf32>) -> tensor<4xi64>
  return %0 : tensor<4xi64>
}

// -----

func.func @concat_numbers(%x: tensor<2xf32>) -> tensor<2xf32> {
  // expected-error @+1 {{operands must be string tensors}}
  %0 = kiln.StringConcat %x, %x : (tensor<2xf32>, tensor<2xf32>) -> tensor<2xf32>
  return %0 : tensor<2xf32>
}

// -----

func.func @normalize_rows(%x: tensor<2x3x!kiln.string>) -> tensor<2x?x!kiln.string> {
  // expected-error @+1 {{input must be [C] or [1, C]}}
  %0 = kiln.StringNormalizer %x : (tensor<2x3x!kiln.string>) -> tensor<2x?x!kiln.string>
  return %0 : tensor<2x?x!kiln.string>
}

// -----

func.func @label_encoder_lengths(%x: tensor<4xi64>) -> tensor<4xf32> {
  // expected-error @+1 {{keys and values must be 1-D and equally long}}
  %0 = kiln.LabelEncoder %x {keys = dense<[1, 2]> : tensor<2xi64>, values = dense<[7.0]> : tensor<1xf32>, default_value = dense<0.0> : tensor<1xf32>} : (tensor<4xi64>) -> tensor<4xf32>
  return %0 : tensor<4xf32>
}

// -----

func.func @image_decoder_format(%x: tensor<?xui8>) -> tensor<*xui8> {
  // expected-error @+1 {{pixel_format must be RGB, BGR or Grayscale, got 'RGBA'}}
  %0 = kiln.ImageDecoder %x {pixel_format = "RGBA"} : (tensor<?xui8>) -> tensor<*xui8>
  return %0 : tensor<*xui8>
}

// -----

func.func @image_decoder_stream(%x: tensor<2x4xui8>) -> tensor<*xui8> {
  // expected-error @+1 {{encoded_stream must be a 1-D uint8 tensor}}
  %0 = kiln.ImageDecoder %x : (tensor<2x4xui8>) -> tensor<*xui8>
  return %0 : tensor<*xui8>
}

// -----

func.func @random_shape_and_like(%x: tensor<2xf32>) -> tensor<*xf32> {
  // expected-error @+1 {{needs either a `like` operand or a `shape`, not both}}
  %0 = kiln.Random %x {distribution = "uniform", a = 0.0 : f64, b = 1.0 : f64, shape = [2], element = f32} : (tensor<2xf32>) -> tensor<*xf32>
  return %0 : tensor<*xf32>
}

// -----

func.func @random_distribution(%x: tensor<2xf32>) -> tensor<*xf32> {
  // expected-error @+1 {{distribution must be uniform or normal, got 'gamma'}}
  %0 = kiln.Random %x {distribution = "gamma", a = 0.0 : f64, b = 1.0 : f64, element = f32} : (tensor<2xf32>) -> tensor<*xf32>
  return %0 : tensor<*xf32>
}
