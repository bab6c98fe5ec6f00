

def answer(student, case):
    image = image_array(case["image"])
    mask = mask_array(case["mask"])
    rng = np.random.default_rng(int(case["seed"]))
    cropped = student.random_crop_pair(image, mask, int(case["size"]), rng)
    if not isinstance(cropped, (tuple, list)) or len(cropped) != 2:
        raise AnswerError("should return two arrays: (image, mask)")
    return {"image": image_json(cropped[0]), "mask": mask_json(cropped[1])}
